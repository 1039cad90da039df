"""The providers converted from the Nango facts: each one against the facts, field by field; the
generated files up to date; every source key resolved or reported; aliases and URL alternatives."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from passway.catalog import load_catalog, validate_provider
from passway.catalog.loader import BUILTIN_FILES, parse_catalog_document
from passway.core.templates import render_url
from passway.errors import ConfigurationError, TemplateVariableMissing

ROOT = Path(__file__).resolve().parents[3]
FACTS = json.loads((ROOT / "tests" / "data" / "nango-provider-facts.json").read_text("utf-8"))
BY_KEY: dict[str, dict[str, Any]] = {p["name"]: p for p in FACTS["providers"]}
REPORT = (ROOT / "docs" / "catalog-conversion.md").read_text("utf-8")
CATALOG = load_catalog()
CONVERTED = [p for p in CATALOG if "sourceKey" in p.labels]
AUTH_TYPES = {
    "API_KEY": "apiKey",
    "BASIC": "basic",
    "OAUTH2": "oauth2",
    "OAUTH2_CC": "oauth2",
    "TWO_STEP": "custom",
}


def _converter() -> ModuleType:
    path = ROOT / "scripts" / "catalog" / "convert_nango.py"
    spec = importlib.util.spec_from_file_location("convert_nango", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["convert_nango"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _template(value: Any) -> str:
    """The facts' ``${connectionConfig.x}`` written as Passway's ``{{.x}}``."""

    def name(match: re.Match[str]) -> str:
        return "{{." + re.sub(r"[^A-Za-z0-9_]", "_", match.group(1)) + "}}"

    parts = [p.strip() for p in str(value).split("||")]
    pattern = r"\$\{(?:connectionConfig|credentials)\.([^}]+)\}"
    parts = [re.sub(pattern, name, p).replace("${accessToken}", "{{.accessToken}}") for p in parts]
    return " || ".join(parts)


def _plain(params: dict[str, Any] | None) -> dict[str, str]:
    out = {}
    for key, value in (params or {}).items():
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


def test_the_generated_files_are_what_the_converter_writes() -> None:
    assert _converter().main(["--check"]) == 0


def test_the_conversion_counts() -> None:
    assert len(CATALOG.providers) == 238 + len(CONVERTED)
    assert len(CONVERTED) == 628
    assert sum(p.token_request is not None for p in CONVERTED) == 26
    in_scope = re.search(
        r"Of the (\d+) entries only in the source.*?: (\d+) converted", REPORT, re.S
    )
    assert in_scope is not None and in_scope.groups() == ("637", "562")


def test_every_built_in_entry_passes_the_validator() -> None:
    package = resources.files("passway.catalog")
    for filename in BUILTIN_FILES:
        document = json.loads(package.joinpath(filename).read_text("utf-8"))
        for raw in document["providers"]:
            assert validate_provider(raw, raw["name"]) == [], raw["name"]


def test_every_source_key_resolves_or_is_reported_with_a_reason() -> None:
    section = REPORT.split("## Not converted", 1)[1].split("\n## ", 1)[0]
    reported = dict(re.findall(r"^\| `([^`]+)` \| [A-Z0-9_]+ \| (.+) \|$", section, re.M))
    for key in BY_KEY:
        found = CATALOG.get(key)
        assert (found is None) == (key in reported), key
        if key in reported:
            assert reported[key].strip(), key
    assert len(reported) + sum(CATALOG.get(k) is not None for k in BY_KEY) == len(BY_KEY)


def test_every_converted_entry_matches_the_facts_field_by_field() -> None:
    for provider in CONVERTED:
        fact = BY_KEY[provider.labels["sourceKey"]]
        served = provider.to_json()
        where = provider.name
        assert CATALOG.get(fact["name"]) is provider, where
        assert served["displayName"] == fact["displayName"], where
        assert served["authType"] == AUTH_TYPES[fact["authMode"]], where
        assert served["baseURL"] == _template(fact["proxy"]["baseUrl"]), where
        assert served["support"]["proxy"] is True, where
        headers = dict(fact["proxy"].get("headers") or {})
        query = dict(fact["proxy"].get("query") or {})
        if fact["authMode"] == "TWO_STEP":
            _check_two_step(served, fact, headers, query)
            _check_metadata(served, fact)
            continue
        if fact["authMode"] == "API_KEY":
            _check_api_key(served, headers, query)
        elif fact["authMode"] in ("OAUTH2", "OAUTH2_CC"):
            _check_oauth(served, fact, headers)
        expected_headers = [
            {"name": name, "valueTemplate": _template(value)}
            for name, value in sorted(headers.items())
        ]
        assert served.get("proxyHeaders", []) == expected_headers, where
        expected_query = [
            {"name": name, "valueTemplate": _template(value)}
            for name, value in sorted(query.items())
        ]
        assert served.get("proxyQueryParams", []) == expected_query, where
        _check_metadata(served, fact)


def _check_two_step(
    served: dict[str, Any], fact: dict[str, Any], headers: dict[str, str], query: dict[str, str]
) -> None:
    where = served["name"]
    request = fact["tokenRequest"]
    spec = served["tokenRequest"]
    assert served["customInputs"] == fact["credentials"], where
    assert served["customMultiStep"] is True, where
    assert spec["url"] == _template(request["tokenUrl"]), where
    for key, source in (("params", "tokenParams"), ("headers", "tokenHeaders")):
        expected = {k: _template(v) for k, v in (request.get(source) or {}).items()}
        if key == "headers" and "basicAuth" in spec:
            basic = expected.pop("authorization")
            user, password = spec["basicAuth"]["username"], spec["basicAuth"]["password"]
            assert basic == "Basic ${base64(" + user + ":" + password + ")}", where
        assert spec[key] == expected, (where, key)
    assert spec["tokenPath"] == request["tokenResponse"]["token"], where
    assert spec.get("expiresInPath") == request["tokenResponse"].get("token_expiration"), where
    lifetime = request.get("tokenExpiresInMs")
    assert spec.get("expiresInSeconds") == (lifetime // 1000 if lifetime else None), where
    if "bodyFormat" in request:
        assert spec["bodyFormat"] == request["bodyFormat"], where
    placed = served.get("customHeaders", []) + served.get("proxyHeaders", [])
    expected_headers = [{"name": k, "valueTemplate": _template(v)} for k, v in headers.items()]
    if not any("${accessToken}" in v for v in headers.values()):
        default = {"name": "authorization", "valueTemplate": "Bearer {{.accessToken}}"}
        expected_headers.append(default)
    key = lambda item: item["name"]  # noqa: E731
    assert sorted(placed, key=key) == sorted(expected_headers, key=key), where
    placed = served.get("customQueryParams", []) + served.get("proxyQueryParams", [])
    expected_query = [{"name": k, "valueTemplate": _template(v)} for k, v in query.items()]
    assert sorted(placed, key=key) == sorted(expected_query, key=key), where


def _check_api_key(served: dict[str, Any], headers: dict[str, str], query: dict[str, str]) -> None:
    where = served["name"]
    if served["apiKeyAttachment"] == "header":
        value = headers.pop(served["apiKeyHeaderName"])
        assert value == served.get("apiKeyHeaderValuePrefix", "") + "${apiKey}", where
    else:
        assert served["apiKeyAttachment"] == "query", where
        assert query.pop(served["apiKeyQueryName"]) == "${apiKey}", where
    assert not any("${apiKey}" in v for v in [*headers.values(), *query.values()]), where


def _check_oauth(served: dict[str, Any], fact: dict[str, Any], headers: dict[str, str]) -> None:
    where = served["name"]
    oauth = fact.get("oauth") or {}
    token_url = oauth["tokenUrl"]
    if isinstance(token_url, dict):
        token_url = token_url[fact["authMode"]]
    assert served["tokenURL"] == _template(token_url), where
    token_params = _plain(oauth.get("tokenParams"))
    token_params.pop("grant_type", None)
    assert served.get("tokenParams", {}) == token_params, where
    assert served.get("scopeSeparator", " ") == oauth.get("scopeSeparator", " "), where
    basic = oauth.get("tokenRequestAuthMethod") == "basic"
    basic = basic or oauth.get("authorizationMethod") == "header"
    assert served["labels"]["tokenAuthMethod"] == ("basic" if basic else "body"), where
    body_format = served["labels"].get("tokenBodyFormat", "form")
    assert body_format == oauth.get("bodyFormat", "form"), where
    if oauth.get("defaultScopes"):
        assert served["labels"]["defaultScopes"] == " ".join(oauth["defaultScopes"]), where
    if fact["authMode"] == "OAUTH2":
        assert served["authURL"] == _template(oauth["authorizationUrl"]), where
        pkce = not oauth.get("disablePkce")
        assert served["grantType"] == ("authorizationCodePKCE" if pkce else "authorizationCode")
        assert served["labels"].get("pkce", "true") == ("true" if pkce else "false"), where
        params = _plain(oauth.get("authorizationParams"))
        if params.get("response_type") == "code":
            del params["response_type"]
        assert served.get("authURLParams", {}) == params, where
    else:
        assert served["grantType"] == "clientCredentials", where
    token_header = served.get("oauth2AccessTokenHeader")
    if token_header is not None:
        value = headers.pop(token_header["name"])
        assert value == token_header["valuePrefix"] + "${accessToken}", where
    elif "authorization" in headers:
        assert headers.pop("authorization") == "Bearer ${accessToken}", where


def _check_metadata(served: dict[str, Any], fact: dict[str, Any]) -> None:
    specs = {re.sub(r"[^A-Za-z0-9_]", "_", c["name"]): c for c in fact.get("connectionConfig", [])}
    for item in served.get("metadataInputs", []):
        spec = specs.get(item["name"], {})
        assert item.get("pattern") == spec.get("pattern"), (served["name"], item["name"])
        expected_enum = [str(v) for v in spec.get("enum") or []] or None
        assert item.get("enum") == expected_enum, (served["name"], item["name"])
        default = spec.get("default")
        assert item.get("defaultValue") == (None if default is None else str(default))


def test_aliases_resolve_to_one_canonical_provider() -> None:
    active = CATALOG.get("active-campaign")
    assert active is not None and active.name == "activeCampaign"
    assert "sourceKey" not in active.labels  # the curated entry wins
    converted = CATALOG.get("bamboohr-basic")
    assert converted is not None and converted.name == "bamboohrBasic"
    assert CATALOG.get("bamboohrBasic") is converted
    assert "bamboohr-basic" in CATALOG.aliases_of("bamboohrBasic")
    assert CATALOG.get("no-such-provider") is None


def test_an_alias_never_shadows_a_provider_name(tmp_path: Path) -> None:
    operator = tmp_path / "catalog.json"
    entry = {"name": "active-campaign", "authType": "basic", "baseURL": "https://a.example.com"}
    operator.write_text(json.dumps({"providers": [entry]}), "utf-8")
    catalog = load_catalog(operator)
    found = catalog.get("active-campaign")
    assert found is not None and found.auth_type == "basic"


def test_an_alias_must_name_a_provider(tmp_path: Path) -> None:
    operator = tmp_path / "catalog.json"
    operator.write_text(json.dumps({"providers": [], "aliases": {"x": "nothing"}}), "utf-8")
    with pytest.raises(ConfigurationError, match="aliases name no provider"):
        load_catalog(operator)
    text = json.dumps({"providers": [], "aliases": {"bad name!": "zoom"}})
    with pytest.raises(ConfigurationError, match="aliases"):
        parse_catalog_document(text, "t")


def test_url_alternatives_use_the_first_complete_one() -> None:
    mercury = CATALOG.get("mercury")
    assert mercury is not None
    assert mercury.base_url == "https://{{.hostname}} || https://api.mercury.com"
    assert render_url(mercury.base_url, {}) == "https://api.mercury.com"
    sandbox = {"hostname": "api-sandbox.mercury.com"}
    assert render_url(mercury.base_url, sandbox) == "https://api-sandbox.mercury.com"
    metabase = CATALOG.get("metabase")
    assert metabase is not None
    with pytest.raises(TemplateVariableMissing) as missing:
        render_url(metabase.base_url, {})
    assert missing.value.context == {"variable": "domain"}
    assert render_url(metabase.base_url, {"domain": "acme"}) == "https://acme.com"
