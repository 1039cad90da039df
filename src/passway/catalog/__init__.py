"""The provider catalog: what Passway knows about each SaaS API (base URLs, auth, modules)."""

from passway.catalog.loader import Catalog, load_catalog, parse_catalog, parse_provider
from passway.catalog.validation import CatalogIssue, validate_provider
from passway.core.provider import Module, Provider

__all__ = [
    "Catalog",
    "CatalogIssue",
    "Module",
    "Provider",
    "load_catalog",
    "parse_catalog",
    "parse_provider",
    "validate_provider",
]
