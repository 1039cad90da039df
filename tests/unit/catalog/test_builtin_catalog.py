"""The built-in catalog: every reference provider, field by field; every URL template renders."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from passway.catalog import Catalog, load_catalog
from passway.core import hostnames
from passway.core.template_syntax import (
    SlotKind,
    TemplateSyntaxError,
    alternatives,
    parse_url_template,
)
from passway.core.templates import render_url, url_templates

# The reference facts the built-in catalog was checked against, kept with the tests.
FACTS_FILE = Path(__file__).resolve().parents[2] / "data" / "provider-catalog-facts.json"
CATALOG = load_catalog()

SAMPLES: dict[SlotKind, str] = {
    "label": "acme",
    "domain": "acme-domain.example.com",
    "host": "acme.example.com",
    "origin": "https://acme.example.com",
    "path": "acme-1",
    "query": "acme",
}


def _facts() -> list[dict[str, Any]]:
    document = json.loads(FACTS_FILE.read_text("utf-8"))
    providers: list[dict[str, Any]] = document["providers"]
    return providers


def test_the_built_in_catalog_has_every_reference_provider() -> None:
    facts = _facts()
    assert len(facts) == 238
    assert {p["name"] for p in facts} <= set(CATALOG.providers)
    proxied = [p for p in facts if CATALOG.providers[p["name"]].support.proxy]
    assert len(proxied) == 212


def test_every_provider_matches_the_reference_facts_field_by_field() -> None:
    """``Provider.to_json()`` (what ``GET /v1/providers`` serves) equals each reference entry."""
    mismatches: list[str] = []
    for fact in _facts():
        served = CATALOG.providers[fact["name"]].to_json()
        for field in sorted(set(fact) | set(served)):
            if fact.get(field) != served.get(field):
                mismatches.append(
                    f"{fact['name']}.{field}: {fact.get(field)!r} != {served.get(field)!r}"
                )
    assert mismatches == []


def test_the_data_file_holds_the_reference_entries_verbatim() -> None:
    facts = {p["name"]: p for p in _facts()}
    text = resources.files("passway.catalog").joinpath("providers.json").read_text("utf-8")
    shipped = {p["name"]: p for p in json.loads(text)["providers"]}
    for name, fact in facts.items():
        assert shipped[name] == fact, name


def test_the_reference_counts_hold_for_the_typed_catalog() -> None:
    counts: dict[str, int] = {}
    for provider in CATALOG:
        if "sourceKey" not in provider.labels:  # the curated entries, not the converted ones
            counts[provider.auth_type] = counts.get(provider.auth_type, 0) + 1
    assert counts == {"oauth2": 126, "apiKey": 69, "basic": 32, "custom": 11}
    shopify = CATALOG.get("shopify")
    assert shopify is not None and shopify.oauth2_access_token_header is not None
    assert shopify.oauth2_access_token_header.name == "X-Shopify-Access-Token"
    salesforce = CATALOG.get("salesforce")
    assert salesforce is not None and salesforce.auth_url_params == {"prompt": "login"}
    assert salesforce.token_metadata_fields is not None
    assert salesforce.token_metadata_fields.workspace_ref_field == "instance_url"
    gitlab = CATALOG.get("gitlab")
    assert gitlab is not None and gitlab.custom_headers[0].name == "PRIVATE-TOKEN"


def _sample_values(template: str) -> dict[str, str]:
    slots = parse_url_template(template).slots
    # A variable sits in one kind of slot within one URL in the whole built-in catalog.
    return {name: SAMPLES[kinds[0]] for name, kinds in slots.items()}


def test_every_templated_url_renders_with_sample_values() -> None:
    rendered = 0
    for provider in CATALOG:
        for field, template in url_templates(provider):
            try:
                values = _sample_values(template)
            except TemplateSyntaxError:
                # Only a root URL left as a placeholder, for a provider reached through modules.
                assert field == "baseURL", (provider.name, field)
                assert provider.default_module in provider.modules, provider.name
                continue
            if not values:
                continue
            url = render_url(template, values)
            rendered += 1
            assert "{{" not in url and "}}" not in url, (provider.name, field)
            parts = urlsplit(url)
            assert parts.scheme == "https", (provider.name, field, url)
            module = field.split(".")[1] if field.startswith("modules.") else None
            if module is None or provider.modules[module].proxy:
                assert hostnames.is_dns_name(parts.hostname or ""), (provider.name, field, url)
    assert rendered >= 110


def test_every_proxyable_base_url_is_an_absolute_https_url() -> None:
    for provider in CATALOG:
        if not provider.support.proxy:
            continue
        urls = [provider.base_url] + [m.base_url for m in provider.modules.values() if m.proxy]
        for url in [option for whole in urls for option in alternatives(whole)]:
            try:
                parse_url_template(url)
            except TemplateSyntaxError:
                assert provider.default_module in provider.modules, provider.name
                continue
            assert url.startswith(("https://", "{{")), (provider.name, url)


def test_catalog_lookup_is_case_sensitive_and_filterable() -> None:
    assert CATALOG.get("salesforce") is not None
    assert CATALOG.get("Salesforce") is None
    api_keys = CATALOG.filter(auth_type="apiKey")
    curated = [p for p in api_keys if "sourceKey" not in p.labels]
    assert len(curated) == 69 and all(p.auth_type == "apiKey" for p in api_keys)
    names = [p.name for p in CATALOG.filter(name_contains="SALESFORCE")]
    assert names == sorted(names, key=str.lower) and "salesforce" in names
    assert [p.name for p in CATALOG.filter(auth_type="oauth2", name_contains="shopify")] == [
        "shopify",
        "shopifyCc",
    ]
    assert isinstance(CATALOG, Catalog) and len(CATALOG) == len(CATALOG.providers)
