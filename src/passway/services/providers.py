"""The provider catalog as the API and the CLI show it: all of it, or filtered."""

from __future__ import annotations

from passway.catalog import Catalog, Provider
from passway.errors import NotFound


def find_providers(
    catalog: Catalog, *, auth_type: str | None = None, search: str | None = None
) -> list[Provider]:
    """Providers sorted by name; ``search`` matches name, display name or an alias (such as a
    source key), case-insensitively."""
    needle = (search or "").lower()
    aliases: dict[str, list[str]] = {}
    if needle:
        for alias, target in catalog.aliases.items():
            aliases.setdefault(target, []).append(alias.lower())
    return sorted(
        (
            p
            for p in catalog
            if (auth_type is None or p.auth_type == auth_type)
            and (
                not needle
                or needle in p.name.lower()
                or needle in p.display_name.lower()
                or any(needle in alias for alias in aliases.get(p.name, ()))
            )
        ),
        key=lambda p: p.name,
    )


def page_of(
    providers: list[Provider], page_size: int, page_token: str | None
) -> tuple[list[Provider], str | None]:
    """One page of ``find_providers``' answer: the providers after ``page_token`` (the last name
    of the previous page), and the token of the next page (None on the last one)."""
    start = 0
    if page_token:
        start = next((i for i, p in enumerate(providers) if p.name > page_token), len(providers))
    page = providers[start : start + page_size]
    more = start + page_size < len(providers)
    return page, (page[-1].name if more and page else None)


def get_provider(catalog: Catalog, name: str) -> Provider:
    provider = catalog.get(name)
    if provider is None:
        raise NotFound(f"Provider {name!r} is not in the catalog.")
    return provider
