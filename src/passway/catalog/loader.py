"""Load catalog files (JSON, the same field names as ``Provider.to_json``) into typed providers.

The built-in catalog ships as ``providers.json`` in this package; an operator file
(``PASSWAY_CATALOG_FILE``) adds providers or overrides built-in ones by name.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from passway.catalog.validation import CatalogIssue, validate_provider
from passway.core.provider import (
    AccessTokenHeader,
    HeaderTemplate,
    MetadataInput,
    Module,
    Provider,
    QueryTemplate,
    Support,
    TokenField,
    TokenMetadataFields,
)
from passway.core.template_syntax import template_variables
from passway.errors import ConfigurationError


@dataclass(frozen=True, slots=True)
class Catalog:
    """Every provider Passway knows, by case-sensitive name. Built once at start, never changed."""

    providers: Mapping[str, Provider]

    def get(self, name: str) -> Provider | None:
        return self.providers.get(name)

    def filter(
        self, *, auth_type: str | None = None, name_contains: str | None = None
    ) -> list[Provider]:
        """Providers sorted by name, optionally of one auth type and/or whose name or display
        name contains ``name_contains`` (case-insensitive)."""
        needle = name_contains.lower() if name_contains else None
        return [
            p
            for p in sorted(self.providers.values(), key=lambda p: p.name.lower())
            if (auth_type is None or p.auth_type == auth_type)
            and (needle is None or needle in p.name.lower() or needle in p.display_name.lower())
        ]

    def __iter__(self) -> Iterator[Provider]:
        return iter(self.providers.values())

    def __len__(self) -> int:
        return len(self.providers)


def _tuple(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value or ())


def parse_provider(raw: Mapping[str, Any]) -> Provider:
    """Build one provider from its JSON form, which ``validate_provider`` has already accepted."""
    tmf_raw = raw.get("tokenMetadataFields")
    tmf = None
    if tmf_raw is not None:
        tmf = TokenMetadataFields(
            workspace_ref_field=tmf_raw.get("workspaceRefField"),
            consumer_ref_field=tmf_raw.get("consumerRefField"),
            scopes_field=tmf_raw.get("scopesField"),
            other_fields=tuple(
                TokenField(name=f["name"], path=f["path"], capture=f.get("capture"))
                for f in tmf_raw.get("otherFields") or ()
            ),
        )
    header_raw = raw.get("oauth2AccessTokenHeader")
    support_raw = raw.get("support") or {}
    return Provider(
        name=raw["name"],
        display_name=raw.get("displayName") or raw["name"],
        auth_type=raw["authType"],
        base_url=raw["baseURL"],
        support=Support(**{k: bool(v) for k, v in support_raw.items()}),
        template_vars=(
            _tuple(raw["templateVars"]) if raw.get("templateVars") is not None else _used_vars(raw)
        ),
        grant_type=raw.get("grantType"),
        auth_url=raw.get("authURL"),
        token_url=raw.get("tokenURL"),
        auth_url_params=dict(raw.get("authURLParams") or {}),
        explicit_scopes_required=bool(raw.get("explicitScopesRequired", False)),
        explicit_workspace_required=bool(raw.get("explicitWorkspaceRequired", False)),
        audience=_tuple(raw.get("audience")),
        token_metadata_fields=tmf,
        oauth2_access_token_header=(
            AccessTokenHeader(header_raw["name"], header_raw.get("valuePrefix", ""))
            if header_raw
            else None
        ),
        api_key_attachment=raw.get("apiKeyAttachment"),
        api_key_header_name=raw.get("apiKeyHeaderName"),
        api_key_header_value_prefix=raw.get("apiKeyHeaderValuePrefix"),
        api_key_query_name=raw.get("apiKeyQueryName"),
        custom_inputs=_tuple(raw.get("customInputs")),
        custom_headers=tuple(
            HeaderTemplate(h["name"], h["valueTemplate"]) for h in raw.get("customHeaders") or ()
        ),
        custom_query_params=tuple(
            QueryTemplate(q["name"], q["valueTemplate"]) for q in raw.get("customQueryParams") or ()
        ),
        custom_multi_step=bool(raw.get("customMultiStep", False)),
        custom_provider_inputs=_tuple(raw.get("customProviderInputs")),
        metadata_inputs=tuple(
            MetadataInput(m["name"], m.get("defaultValue"), _tuple(m.get("modules")))
            for m in raw.get("metadataInputs") or ()
        ),
        metadata_post_authentication=_tuple(raw.get("metadataPostAuthentication")),
        post_auth_info_needed=bool(raw.get("postAuthInfoNeeded", False)),
        default_module=raw.get("defaultModule"),
        modules={
            name: Module(name, m["baseURL"], bool(m.get("proxy", False)))
            for name, m in (raw.get("modules") or {}).items()
        },
        auth_health_check_url=raw.get("authHealthCheckURL"),
        labels={k: str(v) for k, v in (raw.get("labels") or {}).items()},
        egress_allow=_tuple(raw.get("egressAllow")),
    )


def _used_vars(raw: Mapping[str, Any]) -> tuple[str, ...]:
    urls = [raw.get("baseURL"), raw.get("authURL"), raw.get("tokenURL")]
    urls += [raw.get("authHealthCheckURL")]
    urls += [m.get("baseURL") for m in (raw.get("modules") or {}).values()]
    names = {name for url in urls if url for name in template_variables(url)}
    return tuple(sorted(names))


def parse_catalog(text: str, source: str) -> dict[str, Provider]:
    """Validate then parse a whole catalog document; every problem is reported at once."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"catalog {source}: not valid JSON: {exc}") from None
    entries = document.get("providers") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ConfigurationError(f"catalog {source}: expected an object with a 'providers' list")
    issues: list[CatalogIssue] = []
    seen: set[str] = set()
    for index, raw in enumerate(entries):
        found = validate_provider(raw, f"#{index}")
        issues.extend(found)
        name = raw.get("name") if isinstance(raw, dict) else None
        if isinstance(name, str) and name in seen:
            issues.append(CatalogIssue(name, "name", "defined more than once in this file"))
        if isinstance(name, str):
            seen.add(name)
    if issues:
        listed = "; ".join(str(issue) for issue in issues)
        raise ConfigurationError(
            f"catalog {source}: {len(issues)} problem(s): {listed}",
            context={
                "source": source,
                "issues": [
                    {"provider": i.provider, "field": i.field, "message": i.message} for i in issues
                ],
            },
        )
    return {provider.name: provider for provider in map(parse_provider, entries)}


def load_catalog(extra_file: Path | None = None) -> Catalog:
    """The built-in catalog, plus the operator's file (which adds or overrides by name)."""
    builtin = resources.files("passway.catalog").joinpath("providers.json").read_text("utf-8")
    providers = parse_catalog(builtin, "built-in providers.json")
    if extra_file is not None:
        try:
            text = Path(extra_file).read_text("utf-8")
        except OSError as exc:
            raise ConfigurationError(f"catalog file {extra_file}: {exc.strerror}") from None
        providers.update(parse_catalog(text, str(extra_file)))
    return Catalog(providers)
