"""The provider catalog: what Passway knows about each SaaS API (base URLs, auth, modules)."""

from passway.catalog.loader import Catalog, load_catalog, parse_provider
from passway.catalog.model import Module, Provider

__all__ = ["Catalog", "Module", "Provider", "load_catalog", "parse_provider"]
