"""The provider catalog as the API and the CLI show it: all of it, or filtered."""

from __future__ import annotations

from passway.catalog import Catalog, Provider
from passway.errors import NotFound


def find_providers(
    catalog: Catalog, *, auth_type: str | None = None, search: str | None = None
) -> list[Provider]:
    """Providers sorted by name; ``search`` matches name or display name, case-insensitively."""
    needle = (search or "").lower()
    return sorted(
        (
            p
            for p in catalog
            if (auth_type is None or p.auth_type == auth_type)
            and (not needle or needle in p.name.lower() or needle in p.display_name.lower())
        ),
        key=lambda p: p.name,
    )


def get_provider(catalog: Catalog, name: str) -> Provider:
    provider = catalog.get(name)
    if provider is None:
        raise NotFound(f"Provider {name!r} is not in the catalog.")
    return provider
