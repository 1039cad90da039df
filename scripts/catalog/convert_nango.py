#!/usr/bin/env python3
"""Convert the Nango provider facts into Passway catalog entries (deterministic, re-runnable).

    python scripts/catalog/convert_nango.py                  # from tests/data (the trimmed copy)
    python scripts/catalog/convert_nango.py --facts FULL.json --write-trimmed tests/data/...

Reads ``tests/data/nango-provider-facts.json`` (facts read from Nango's ``providers.yaml``; see
``/work/shared/reference/README.md`` for the fields) and the curated ``providers.json``, and writes:

- ``src/passway/catalog/providers_converted.json``: the added providers and every alias (a source
  key resolving to a curated or converted provider);
- ``docs/catalog-conversion.md``: counts, every alias, and every source entry NOT converted with
  its reason, plus the notes on converted entries.

Every source entry lands in exactly one of: converted, alias of a curated entry, alias of a
converted entry (a source alias that only renames its parent), or refused with a reason. Nothing
is approximated: anything the converter does not recognise refuses the entry.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from passway.catalog.validation import validate_provider  # noqa: E402

FACTS = ROOT / "tests" / "data" / "nango-provider-facts.json"
CURATED = ROOT / "src" / "passway" / "catalog" / "providers.json"
OUTPUT = ROOT / "src" / "passway" / "catalog" / "providers_converted.json"
REPORT = ROOT / "docs" / "catalog-conversion.md"

SERVED = {"API_KEY": "apiKey", "BASIC": "basic", "OAUTH2": "oauth2", "OAUTH2_CC": "oauth2"}
# Source-alias overrides that change nothing Passway uses: such an alias is its parent renamed.
COSMETIC = {
    "categories",
    "display_name",
    "docs",
    "docs_connect",
    "setup_guide_url",
    "webhook_routing_script",
    "post_connection_script",
}
# Fields of the source that do not change what a proxied request or the token requests look like.
PROXY_IGNORED = {"retry", "verification", "decompress", "forwardHeadersOnRedirect"}
OAUTH_KNOWN = {
    "authorizationUrl",
    "tokenUrl",
    "refreshUrl",
    "authorizationParams",
    "tokenParams",
    "refreshParams",
    "scopeSeparator",
    "defaultScopes",
    "disablePkce",
    "tokenRequestAuthMethod",
    "authorizationMethod",
    "bodyFormat",
}
# Parameters the authorization request sets itself (a catalog value would be overwritten).
AUTH_PARAMS_OWNED = {
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "code_challenge",
    "code_challenge_method",
    "scope",
}
TOKEN_PARAMS_OWNED = {
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "client_id",
    "client_secret",
    "scope",
    "username",
    "password",
    "refresh_token",
}
STANDARD_GRANT = {"OAUTH2": "authorization_code", "OAUTH2_CC": "client_credentials"}
# Where a source variable's value may come from later, which Passway cannot fill.
LATER_SOURCES = {"redirectUri", "postConnection", "webhookResponse", "refreshTokenResponse"}

_VAR = re.compile(r"\$\{([^{}]*)\}")
_CC_VAR = re.compile(r"connectionConfig\.([A-Za-z0-9_.-]+)\Z")
_BASIC_HELPER = re.compile(
    r"Basic \$\{base64\(\$\{credentials\.([A-Za-z0-9_]+)\}:\$\{credentials\.([A-Za-z0-9_]+)\}\)\}"
)
_CRED_VAR = re.compile(r"credentials\.([A-Za-z][A-Za-z0-9_]*)\Z")
_PASSWAY_VAR = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")


class Refused(Exception):
    """The entry cannot be converted faithfully; the message is the reason in the report."""


@dataclass
class Converted:
    entry: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def camel_name(key: str) -> str:
    """``google-calendar`` -> ``googleCalendar``; the catalog's naming style."""
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", key) if p]
    return parts[0].lower() + "".join(p[:1].upper() + p[1:] for p in parts[1:])


def normalised(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def variable_name(source: str) -> str:
    """A Passway template variable for a source connection-config name (``-``/``.`` -> ``_``)."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", source)
    if not _PASSWAY_VAR.match(name):
        raise Refused(f"connection-config name {source!r} cannot be a template variable")
    return name


class TemplateConverter:
    """Turns ``${connectionConfig.x}`` templates into ``{{.x}}`` and records the variables."""

    def __init__(self) -> None:
        self.used: dict[str, str] = {}  # passway name -> source name
        self.secrets: dict[str, str] = {}  # credential inputs used (two-step entries)
        self.kinds: set[str] = set()  # what the last convert() used: config, credentials, token

    def convert(
        self, template: str, where: str, *, allow_fallback: bool = True, secrets: bool = False
    ) -> str:
        if "||" in template and not allow_fallback:
            raise Refused(f"{where}: alternatives (||) are not supported there")
        self.kinds = set()
        pieces = [p.strip() for p in template.split("||")] if "||" in template else [template]
        return " || ".join(self._one(piece, where, secrets) for piece in pieces)

    def _one(self, template: str, where: str, secrets: bool) -> str:
        if "{{" in template or "}}" in template:
            raise Refused(f"{where}: literal braces in {template!r}")
        helper = re.search(r"\$\{([A-Za-z0-9]+)\(", template)
        if helper is not None:
            raise Refused(f"{where}: {helper.group(1)}(...) has no Passway equivalent")

        def replace(match: re.Match[str]) -> str:
            inner = match.group(1)
            found = _CC_VAR.match(inner)
            credential = _CRED_VAR.match(inner) if secrets else None
            if secrets and inner == "accessToken":
                self.kinds.add("token")
                return "{{.accessToken}}"
            if credential is not None:
                name = variable_name(credential.group(1))
                self.secrets[name] = credential.group(1)
                self.kinds.add("credentials")
                return "{{." + name + "}}"
            if found is None:
                raise Refused(f"{where}: {match.group(0)} has no Passway equivalent")
            name = variable_name(found.group(1))
            self.used[name] = found.group(1)
            self.kinds.add("config")
            return "{{." + name + "}}"

        out = _VAR.sub(replace, template)
        if "${" in out:
            raise Refused(f"{where}: nested or unclosed template in {template!r}")
        return out


def split_api_key_value(value: str) -> str | None:
    """The exact prefix of a ``<prefix>${apiKey}`` value, or None for any other shape."""
    if not value.endswith("${apiKey}"):
        return None
    prefix = value[: -len("${apiKey}")]
    return None if "${" in prefix or "}" in prefix else prefix


def convert_entry(p: dict[str, Any], name: str) -> Converted:
    mode = p["authMode"]
    proxy = dict(p.get("proxy") or {})
    notes: list[str] = []
    if mode == "TWO_STEP":
        return convert_two_step(p, name)
    if mode not in SERVED:
        raise Refused(f"auth mode {mode} is not one Passway serves")
    if not proxy.get("baseUrl"):
        raise Refused("no proxy base URL")
    if p.get("requireClientCertificate"):
        raise Refused("requires a client TLS certificate")
    unknown = sorted(set(proxy) - PROXY_IGNORED - {"baseUrl", "headers", "query", "body"})
    unknown = [k for k in unknown if k != "connectionConfig"]
    if unknown:
        raise Refused(f"proxy field(s) {unknown} not handled")
    if proxy.get("body"):
        raise Refused(
            f"credentials or values injected in the request body ({sorted(proxy['body'])})"
        )
    if proxy.get("connectionConfig"):
        notes.append(
            "the source's proxy.connectionConfig (values handed to its scripts, not sent) is not "
            "carried over"
        )
    templates = TemplateConverter()
    entry: dict[str, Any] = {
        "name": name,
        "displayName": p.get("displayName") or name,
        "authType": SERVED[mode],
    }
    entry["baseURL"] = templates.convert(proxy["baseUrl"], "proxy.baseUrl")
    headers = dict(sorted((proxy.get("headers") or {}).items()))
    query = dict(sorted((proxy.get("query") or {}).items()))
    for header in headers:
        if not _HEADER_NAME.match(header):
            raise Refused(f"header name {header!r} is not a valid header name")
    if mode == "API_KEY":
        _api_key_placement(entry, headers, query)
    elif mode == "BASIC":
        if "authorization" in {h.lower() for h in headers}:
            raise Refused("BASIC entry replaces the Authorization header itself")
    else:
        _oauth_access_token_header(entry, headers, notes)
    credential_header = {"BASIC": "authorization", "OAUTH2": "authorization"}.get(mode)
    if mode == "OAUTH2_CC":
        credential_header = "authorization"
    token_header = (entry.get("oauth2AccessTokenHeader") or {}).get("name", "").lower()
    proxy_headers = []
    for header, value in sorted(headers.items()):
        if header.lower() in (credential_header, token_header):
            raise Refused(f"header {header} ({value!r}) would replace the credential's header")
        converted = templates.convert(str(value), f"proxy.headers.{header}")
        proxy_headers.append({"name": header, "valueTemplate": converted})
    if proxy_headers:
        entry["proxyHeaders"] = proxy_headers
    proxy_query = []
    for param, value in sorted(query.items()):
        converted = templates.convert(str(value), f"proxy.query.{param}")
        proxy_query.append({"name": param, "valueTemplate": converted})
    if proxy_query:
        entry["proxyQueryParams"] = proxy_query
    if mode in ("OAUTH2", "OAUTH2_CC"):
        _oauth(entry, p, templates, notes)
    metadata_inputs, token_fields, later = _metadata(p, templates)
    if metadata_inputs:
        entry["metadataInputs"] = metadata_inputs
    if token_fields:
        entry["tokenMetadataFields"] = {"otherFields": token_fields}
    _check_later_values(entry, later)
    entry["support"] = {
        "delete": False,
        "proxy": True,
        "read": False,
        "subscribe": False,
        "write": False,
    }
    entry["templateVars"] = sorted(
        {v for key in ("baseURL", "authURL", "tokenURL") for v in _vars(entry.get(key))}
    )
    entry["postAuthInfoNeeded"] = False
    labels = dict(entry.pop("labels", {}))
    labels["sourceKey"] = p["name"]
    entry["labels"] = dict(sorted(labels.items()))
    return Converted(entry, notes)


TOKEN_REQUEST_KNOWN = {
    "tokenUrl",
    "tokenParams",
    "tokenHeaders",
    "bodyFormat",
    "tokenResponse",
    "tokenExpiresInMs",
    "tokenRequestMethod",
}


def convert_two_step(p: dict[str, Any], name: str) -> Converted:
    """A token from the credentials first, then sent on each call (``core.token_step``)."""
    proxy = dict(p.get("proxy") or {})
    if not proxy.get("baseUrl"):
        raise Refused("no proxy base URL")
    unknown = sorted(
        set(proxy) - PROXY_IGNORED - {"baseUrl", "headers", "query", "connectionConfig"}
    )
    if unknown:
        raise Refused(f"proxy field(s) {unknown} not handled")
    notes = []
    if proxy.get("connectionConfig"):
        notes.append(
            "the source's proxy.connectionConfig (values handed to its scripts, not sent) is not "
            "carried over"
        )
    request = p.get("tokenRequest") or {}
    unknown = sorted(set(request) - TOKEN_REQUEST_KNOWN)
    if unknown:
        raise Refused(f"two-step token request field(s) {unknown} not handled")
    if str(request.get("tokenRequestMethod", "POST")).upper() != "POST":
        raise Refused(f"the token is requested with {request['tokenRequestMethod']}")
    if not isinstance(request.get("tokenUrl"), str):
        raise Refused("no single token URL")
    t = TemplateConverter()
    entry: dict[str, Any] = {
        "name": name,
        "displayName": p.get("displayName") or name,
        "authType": "custom",
        "baseURL": t.convert(proxy["baseUrl"], "proxy.baseUrl"),
    }
    spec: dict[str, Any] = {"url": t.convert(request["tokenUrl"], "tokenRequest.tokenUrl")}
    headers = {str(k): v for k, v in (request.get("tokenHeaders") or {}).items()}
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    body_format = request.get("bodyFormat")
    if body_format is None:
        body_format = {"application/json": "json"}.get(str(content_type).split(";")[0].strip())
        if "x-www-form-urlencoded" in str(content_type):
            body_format = "form"
    if body_format not in ("json", "form"):
        raise Refused(f"token request body format {body_format!r}")
    spec["bodyFormat"] = body_format
    basic = _BASIC_HELPER.fullmatch(str(headers.get("authorization", "")))
    if basic is not None:
        spec["basicAuth"] = {
            "username": t.convert(f"${{credentials.{basic.group(1)}}}", "basicAuth", secrets=True),
            "password": t.convert(f"${{credentials.{basic.group(2)}}}", "basicAuth", secrets=True),
        }
    for key, source in (("params", "tokenParams"), ("headers", "tokenHeaders")):
        converted = {}
        given = dict(request.get(source) or {})
        if basic is not None and source == "tokenHeaders":
            del given["authorization"]
        for param, value in sorted(given.items()):
            if not isinstance(value, str):
                raise Refused(f"tokenRequest.{source}.{param} is not a string ({value!r})")
            converted[param] = t.convert(value, f"tokenRequest.{source}.{param}", secrets=True)
            if "||" in converted[param] or "token" in t.kinds:
                raise Refused(f"tokenRequest.{source}.{param} is not a plain template")
        spec[key] = converted
    answer = dict(request.get("tokenResponse") or {})
    token_path = answer.pop("token", None)
    if not isinstance(token_path, str) or not token_path:
        raise Refused("the token's place in the answer is not a field")
    spec["tokenPath"] = token_path
    expiration = answer.pop("token_expiration", None)
    strategy = answer.pop("token_expiration_strategy", "expireIn" if expiration else None)
    if answer:
        raise Refused(f"token answer field(s) {sorted(answer)} not handled")
    if expiration is not None:
        if strategy != "expireIn":
            raise Refused(f"token expiry given as {strategy!r}")
        spec["expiresInPath"] = expiration
    if request.get("tokenExpiresInMs"):
        spec["expiresInSeconds"] = int(request["tokenExpiresInMs"]) // 1000
    custom_headers, proxy_headers = [], []
    for header, value in sorted((proxy.get("headers") or {}).items()):
        if not _HEADER_NAME.match(header):
            raise Refused(f"header name {header!r} is not a valid header name")
        converted = t.convert(str(value), f"proxy.headers.{header}", secrets=True)
        item = {"name": header, "valueTemplate": converted}
        if t.kinds & {"credentials", "token"}:
            if "config" in t.kinds or "||" in converted:
                raise Refused(f"header {header} mixes credentials and connection values")
            custom_headers.append(item)
        else:
            proxy_headers.append(item)
    if not any("{{.accessToken}}" in h["valueTemplate"] for h in custom_headers):
        if any(h["name"].lower() == "authorization" for h in custom_headers + proxy_headers):
            raise Refused("the token goes nowhere (the Authorization header is set otherwise)")
        custom_headers.insert(
            0, {"name": "authorization", "valueTemplate": "Bearer {{.accessToken}}"}
        )
    custom_query, proxy_query = [], []
    for param, value in sorted((proxy.get("query") or {}).items()):
        converted = t.convert(str(value), f"proxy.query.{param}", secrets=True)
        item = {"name": param, "valueTemplate": converted}
        if t.kinds & {"credentials", "token"}:
            if "config" in t.kinds or "||" in converted:
                raise Refused(f"query {param} mixes credentials and connection values")
            custom_query.append(item)
        else:
            proxy_query.append(item)
    credentials = [variable_name(c) for c in p.get("credentials") or []]
    unknown_inputs = sorted(set(t.secrets) - set(credentials))
    if unknown_inputs:
        raise Refused(f"uses credentials {unknown_inputs} the entry does not declare")
    clash = sorted(set(credentials) & set(t.used))
    if clash:
        raise Refused(f"{clash} name both a credential and a connection value")
    entry["customInputs"] = credentials
    entry["customHeaders"] = custom_headers
    if custom_query:
        entry["customQueryParams"] = custom_query
    entry["customMultiStep"] = True
    entry["tokenRequest"] = spec
    if proxy_headers:
        entry["proxyHeaders"] = proxy_headers
    if proxy_query:
        entry["proxyQueryParams"] = proxy_query
    metadata_inputs, token_fields, later = _metadata(p, t)
    if token_fields:
        raise Refused("connection values come from the token answer")
    if metadata_inputs:
        entry["metadataInputs"] = metadata_inputs
    _check_later_values(entry, later)
    entry["support"] = {
        "delete": False,
        "proxy": True,
        "read": False,
        "subscribe": False,
        "write": False,
    }
    entry["templateVars"] = sorted(_vars(entry["baseURL"]))
    entry["postAuthInfoNeeded"] = False
    entry["labels"] = {"sourceKey": p["name"]}
    return Converted(entry, notes)


def _vars(template: str | None) -> list[str]:
    return re.findall(r"\{\{\.([A-Za-z_][A-Za-z0-9_]*)\}\}", template or "")


def _api_key_placement(
    entry: dict[str, Any], headers: dict[str, str], query: dict[str, str]
) -> None:
    in_headers = [h for h, v in headers.items() if "${apiKey}" in v]
    in_query = [q for q, v in query.items() if "${apiKey}" in v]
    if "${apiKey}" in entry["baseURL"] or "apiKey" in entry["baseURL"]:
        raise Refused("the API key is part of the base URL path")
    if in_headers and in_query:
        raise Refused("the API key goes both in a header and in the query")
    if len(in_headers) > 1 or len(in_query) > 1:
        raise Refused("the API key goes in more than one place")
    if in_headers:
        header = in_headers[0]
        prefix = split_api_key_value(headers[header])
        if prefix is None:
            raise Refused(f"header {header}: {headers[header]!r} is not '<prefix>${{apiKey}}'")
        entry["apiKeyAttachment"] = "header"
        entry["apiKeyHeaderName"] = header
        if prefix:
            entry["apiKeyHeaderValuePrefix"] = prefix
        del headers[header]
    elif in_query:
        param = in_query[0]
        if query[param] != "${apiKey}":
            raise Refused(f"query {param}: {query[param]!r} is not exactly the key")
        entry["apiKeyAttachment"] = "query"
        entry["apiKeyQueryName"] = param
        del query[param]
    else:
        raise Refused("the source does not say where the API key goes in a proxied request")


def _oauth_access_token_header(
    entry: dict[str, Any], headers: dict[str, str], notes: list[str]
) -> None:
    with_token = [h for h, v in headers.items() if "${accessToken}" in v]
    if not with_token:
        return
    if len(with_token) > 1:
        raise Refused("the access token goes in more than one header")
    header = with_token[0]
    value = headers.pop(header)
    if not value.endswith("${accessToken}") or "${" in value[: -len("${accessToken}")]:
        raise Refused(f"header {header}: {value!r} is not '<prefix>${{accessToken}}'")
    prefix = value[: -len("${accessToken}")]
    if header.lower() == "authorization" and prefix == "Bearer ":
        return  # the default placement
    entry["oauth2AccessTokenHeader"] = {"name": header, "valuePrefix": prefix}
    if header.lower() != "authorization":
        notes.append(
            f"the access token goes in {header} instead of Authorization (the source also sends "
            "its default Authorization: Bearer)"
        )


def _oauth(
    entry: dict[str, Any], p: dict[str, Any], t: TemplateConverter, notes: list[str]
) -> None:
    mode = p["authMode"]
    oauth = p.get("oauth") or {}
    unknown = sorted(set(oauth) - OAUTH_KNOWN)
    if unknown:
        raise Refused(f"OAuth field(s) {unknown} not handled")
    token_url = oauth.get("tokenUrl")
    if isinstance(token_url, dict):
        if mode not in token_url:
            raise Refused(f"token URL given per auth mode without one for {mode}")
        token_url = token_url[mode]
    if not token_url:
        raise Refused("no token URL")
    refresh_url = oauth.get("refreshUrl")
    if refresh_url and refresh_url != token_url:
        raise Refused(f"refreshes at a different URL ({refresh_url})")
    entry["tokenURL"] = t.convert(token_url, "oauth.tokenUrl")
    if oauth.get("bodyFormat") not in (None, "form", "json"):
        raise Refused(f"token request body format {oauth['bodyFormat']!r} (a form or JSON only)")
    method = oauth.get("tokenRequestAuthMethod")
    if method not in (None, "basic"):
        raise Refused(f"client authentication {method!r} at the token endpoint")
    header_auth = oauth.get("authorizationMethod") == "header"
    if oauth.get("authorizationMethod") not in (None, "header", "body"):
        raise Refused(f"authorizationMethod {oauth['authorizationMethod']!r}")
    labels: dict[str, str] = {"tokenAuthMethod": "basic" if method or header_auth else "body"}
    if oauth.get("bodyFormat") == "json":
        labels["tokenBodyFormat"] = "json"
    if mode == "OAUTH2":
        if not oauth.get("authorizationUrl"):
            raise Refused("no authorization URL")
        entry["grantType"] = (
            "authorizationCode" if oauth.get("disablePkce") else "authorizationCodePKCE"
        )
        if oauth.get("disablePkce"):
            labels["pkce"] = "false"
        entry["authURL"] = t.convert(oauth["authorizationUrl"], "oauth.authorizationUrl")
        params = _static_params(oauth.get("authorizationParams"), "authorizationParams")
        if params.get("response_type") == "code":
            del params["response_type"]  # what Passway's authorization request sends anyway
        clash = sorted(set(params) & AUTH_PARAMS_OWNED)
        if clash:
            raise Refused(f"authorizationParams set {clash}, which Passway's request sets itself")
        if params:
            entry["authURLParams"] = params
    else:
        entry["grantType"] = "clientCredentials"
        if oauth.get("authorizationUrl"):
            notes.append(
                "the source's authorization URL is not used by the client-credentials grant"
            )
    token_params = _static_params(oauth.get("tokenParams"), "tokenParams")
    grant = token_params.pop("grant_type", STANDARD_GRANT[mode])
    if grant != STANDARD_GRANT[mode]:
        raise Refused(f"token request grant_type {grant!r}")
    clash = sorted(set(token_params) & TOKEN_PARAMS_OWNED)
    if clash:
        raise Refused(f"tokenParams set {clash}, which Passway's token request sets itself")
    if token_params:
        entry["tokenParams"] = token_params
    refresh = _static_params(oauth.get("refreshParams"), "refreshParams")
    if refresh.pop("grant_type", "refresh_token") != "refresh_token" or refresh:
        raise Refused(f"refresh request parameters {sorted(oauth['refreshParams'])}")
    separator = oauth.get("scopeSeparator")
    if separator is not None and separator != " ":
        entry["scopeSeparator"] = separator
    if oauth.get("defaultScopes"):
        labels["defaultScopes"] = " ".join(oauth["defaultScopes"])
        notes.append("defaultScopes kept as a label only: the integration names its scopes")
    entry["explicitScopesRequired"] = False
    entry["explicitWorkspaceRequired"] = bool(
        _vars(entry.get("authURL")) or _vars(entry.get("tokenURL"))
    )
    entry["labels"] = labels


def _static_params(params: dict[str, Any] | None, where: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in sorted((params or {}).items(), key=lambda item: str(item[0])):
        if isinstance(value, bool):
            value = "true" if value else "false"  # as a URL or form encoder writes it
        if not isinstance(value, str | int | float):
            raise Refused(f"{where}.{key} is not a plain value")
        if "${" in str(value):
            raise Refused(f"{where}.{key} is templated ({value!r})")
        out[str(key)] = str(value)
    return dict(sorted(out.items()))  # the same output whatever the facts file's key order


def _metadata(
    p: dict[str, Any], t: TemplateConverter
) -> tuple[list[dict[str, Any]], list[dict[str, str]], set[str]]:
    """Metadata inputs (with pattern/enum), token-response fields, and values only filled later."""
    config = {c["name"]: c for c in p.get("connectionConfig") or []}
    inputs: list[dict[str, Any]] = []
    token_fields: list[dict[str, str]] = []
    later: set[str] = set()
    for name in sorted(t.used):
        source = t.used[name]
        spec = config.get(source, {})
        origins = set(spec.get("obtainedFrom") or ())
        declared = spec.get("declared", True) and bool(spec)
        if "tokenResponse" in origins:
            token_fields.append({"name": name, "path": source})
        if origins & LATER_SOURCES and not declared:
            later.add(name)
        if not declared and "tokenResponse" in origins:
            continue
        item: dict[str, Any] = {"name": name}
        if spec.get("default") is not None:
            item["defaultValue"] = str(spec["default"])
        if spec.get("pattern"):
            try:
                re.compile(spec["pattern"])
            except re.error as exc:
                raise Refused(f"pattern of {source} is not expressible: {exc}") from None
            item["pattern"] = spec["pattern"]
        if spec.get("enum"):
            item["enum"] = [str(v) for v in spec["enum"]]
        inputs.append(item)
    return inputs, token_fields, later


def _check_later_values(entry: dict[str, Any], later: set[str]) -> None:
    """A URL that needs a value only the source's own machinery fills (its callback query, its
    scripts) cannot work, unless another alternative of that URL does without it."""
    for key in ("baseURL", "authURL", "tokenURL"):
        template = entry.get(key)
        if not template:
            continue
        options = [o.strip() for o in template.split("||")]
        if all(set(_vars(o)) & later for o in options):
            needed = sorted(set(_vars(template)) & later)
            raise Refused(f"{key} needs {needed}, which only the source's own flow fills in")


# --- selection ---------------------------------------------------------------------------------


def compatible(mode: str, curated: dict[str, Any]) -> bool:
    auth, grant = curated["authType"], curated.get("grantType")
    if mode == "OAUTH2":
        return auth == "oauth2" and grant in ("authorizationCode", "authorizationCodePKCE")
    if mode == "OAUTH2_CC":
        return auth == "oauth2" and grant == "clientCredentials"
    return SERVED.get(mode) == auth


@dataclass
class Plan:
    converted: dict[str, Converted] = field(default_factory=dict)  # source key -> entry
    aliases: dict[str, str] = field(default_factory=dict)  # alias -> provider name
    alias_reason: dict[str, str] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    beside: dict[str, str] = field(default_factory=dict)  # source key -> curated name
    same_name: set[str] = field(default_factory=set)  # source keys spelled like the provider


def plan(facts: dict[str, Any], curated: list[dict[str, Any]]) -> Plan:
    by_key = {p["name"]: p for p in facts["providers"]}
    curated_by_name = {c["name"]: c for c in curated}
    curated_by_norm = {normalised(c["name"]): c["name"] for c in curated}
    matches: dict[str, set[str]] = defaultdict(set)
    for pair in facts["overlap"]["matchedByName"] + facts["overlap"]["matchedByHost"]:
        matches[pair["nango"]].add(pair["reference"])
    out = Plan()
    taken = {n.lower() for n in curated_by_name}
    renames: dict[str, str] = {}
    for key in sorted(by_key):
        p = by_key[key]
        mode = p["authMode"]
        parent = p.get("aliasOf")
        if parent and set(p.get("aliasOverrides") or ()) <= COSMETIC:
            renames[key] = parent
            continue
        same_name = curated_by_norm.get(normalised(key))
        if same_name is not None:
            out.aliases[key] = same_name
            how = "same name"
            if not compatible(mode, curated_by_name[same_name]):
                how += f"; the source entry uses {mode}, the curated one is kept"
            out.alias_reason[key] = how
            continue
        found = sorted(matches.get(key, ()))
        fitting = [r for r in found if compatible(mode, curated_by_name[r])]
        if len(fitting) == 1:
            out.aliases[key] = fitting[0]
            out.alias_reason[key] = "same service (matched by name or API host), same auth mode"
            continue
        if len(fitting) > 1:
            out.refused[key] = (
                f"matches several curated providers ({', '.join(fitting)}); not aliased"
            )
            continue
        if found:
            out.beside[key] = ", ".join(found)
        name = camel_name(key)
        if name.lower() in taken:
            name = camel_name(f"{key}-{mode.lower().replace('_', '-')}")
        if name.lower() in taken:
            out.refused[key] = f"its name {name} is taken"
            continue
        try:
            out.converted[key] = convert_entry(p, name)
            problems = validate_provider(out.converted[key].entry, name)
            if problems:
                del out.converted[key]
                found_problems = "; ".join(f"{i.field}: {i.message}" for i in problems)
                raise Refused(f"breaks Passway's catalog rules ({found_problems})")
        except Refused as exc:
            out.refused[key] = str(exc)
            continue
        taken.add(name.lower())
    converted_names = {k: c.entry["name"] for k, c in out.converted.items()}
    for key, parent in sorted(renames.items()):
        if parent in converted_names:
            out.aliases[key] = converted_names[parent]
            out.alias_reason[key] = f"the source's alias of {parent}"
        elif parent in out.aliases:
            out.aliases[key] = out.aliases[parent]
            out.alias_reason[key] = f"the source's alias of {parent}"
        else:
            out.refused[key] = f"the source's alias of {parent}, which is not converted"
    for key, c in out.converted.items():
        if c.entry["name"] != key:
            out.aliases[key] = c.entry["name"]
    names = set(curated_by_name) | set(converted_names.values())
    for key in [k for k in out.aliases if k in names]:
        # the key already is a provider's name; it must resolve to that provider
        assert out.aliases[key] == key, (key, out.aliases[key])
        out.same_name.add(key)
        del out.aliases[key]
    return out


# --- output ------------------------------------------------------------------------------------


def catalog_document(facts: dict[str, Any], result: Plan) -> dict[str, Any]:
    source = facts["source"]
    return {
        "source": f"{source['repo']}/{source['path']}@{source['commit']} (facts only)",
        "generatedBy": "scripts/catalog/convert_nango.py",
        "providers": [
            result.converted[k].entry
            for k in sorted(result.converted, key=lambda k: result.converted[k].entry["name"])
        ],
        "aliases": dict(sorted(result.aliases.items())),
    }


def report(facts: dict[str, Any], result: Plan) -> str:
    by_key = {p["name"]: p for p in facts["providers"]}
    converted_names = {c.entry["name"] for c in result.converted.values()}
    to_curated = {a: t for a, t in result.aliases.items() if t not in converted_names}
    to_curated |= {k: k for k in result.same_name if k not in converted_names}
    renamed = {
        a: t for a, t in result.aliases.items() if t in converted_names and a in result.alias_reason
    }
    modes = Counter(by_key[k]["authMode"] for k in result.converted)
    reasons = Counter(_reason_kind(r) for r in result.refused.values())
    matched = {pair["nango"] for pair in facts["overlap"]["matchedByName"]}
    matched |= {pair["nango"] for pair in facts["overlap"]["matchedByHost"]}
    scope = [
        k
        for k, p in by_key.items()
        if k not in matched and p["authMode"] in SERVED and (p.get("proxy") or {}).get("baseUrl")
    ]
    in_scope_converted = sum(k in result.converted for k in scope)
    in_scope_aliased = sum(k in result.aliases and k not in result.converted for k in scope)
    in_scope_refused = sum(k in result.refused for k in scope)
    two_step_total = sum(p["authMode"] == "TWO_STEP" for p in by_key.values())
    two_step_done = sum(by_key[k]["authMode"] == "TWO_STEP" for k in result.converted)
    lines = [
        "# Catalog conversion report",
        "",
        "Generated by `scripts/catalog/convert_nango.py` from",
        "`tests/data/nango-provider-facts.json`",
        f"({facts['source']['repo']} `{facts['source']['path']}` at "
        f"`{facts['source']['commit'][:12]}`, facts only). Do not edit by hand: re-run the script.",
        "",
        "## Counts",
        "",
        "| | entries |",
        "|---|---|",
        f"| source entries | {len(by_key)} |",
        f"| converted into new providers (`providers_converted.json`) | {len(result.converted)} |",
        *(f"| &nbsp;&nbsp;of which {m} | {n} |" for m, n in sorted(modes.items())),
        f"| source keys resolving to a curated provider | {len(to_curated)} |",
        f"| aliases of a converted provider (the source's own aliases) | {len(renamed)} |",
        f"| not converted | {len(result.refused)} |",
        *(f"| &nbsp;&nbsp;{kind} | {n} |" for kind, n in sorted(reasons.items())),
        "",
        f"Of the {len(scope)} entries only in the source with an auth mode Passway serves and a",
        f"proxy base URL: {in_scope_converted} converted, {in_scope_aliased} reachable as an",
        f"alias of a converted provider, {in_scope_refused} not converted (listed below).",
        "",
        f"Of the {two_step_total} TWO_STEP entries (a mode Passway gained for this conversion):",
        f"{two_step_done} converted, the others listed below.",
        "",
        "Every converted provider is also reachable by its source key (an alias), and records it",
        "in `labels.sourceKey`.",
        "",
        "## Not converted",
        "",
        "| source key | auth mode | reason |",
        "|---|---|---|",
    ]
    for key in sorted(result.refused):
        reason = result.refused[key].replace("|", "\\|")
        lines.append(f"| `{key}` | {by_key[key]['authMode']} | {reason} |")
    lines += [
        "",
        "## Source keys resolving to curated providers",
        "",
        "The curated entry wins; the source key resolves to it (an alias, or its own name when",
        "spelled the same).",
        "",
        "| source key | provider | why |",
        "|---|---|---|",
    ]
    for key in sorted(to_curated):
        lines.append(f"| `{key}` | `{to_curated[key]}` | {result.alias_reason[key]} |")
    lines += [
        "",
        "## The source's own aliases of converted providers",
        "",
        "| source key | provider | why |",
        "|---|---|---|",
    ]
    for key in sorted(renamed):
        lines.append(f"| `{key}` | `{renamed[key]}` | {result.alias_reason[key]} |")
    lines += [
        "",
        "## Converted beside a curated provider of the same service",
        "",
        "These source entries match a curated provider but use another auth mode, so they are",
        "added as providers of their own rather than aliased.",
        "",
        "| source key | provider | curated match |",
        "|---|---|---|",
    ]
    for key in sorted(result.beside):
        if key in result.converted:
            name = result.converted[key].entry["name"]
            lines.append(f"| `{key}` | `{name}` | {result.beside[key]} |")
    lines += ["", "## Notes on converted providers", ""]
    for key in sorted(result.converted):
        for note in result.converted[key].notes:
            lines.append(f"- `{result.converted[key].entry['name']}` (`{key}`): {note}")
    lines += [
        "",
        "## Conventions",
        "",
        "- Names: the source key in camelCase (`google-calendar` -> `googleCalendar`); on a clash",
        "  with a curated name the auth mode is appended.",
        "- `${connectionConfig.x}` -> `{{.x}}`, declared as a metadata input with the source's",
        "  `pattern` (the whole value must match) and `enum`; a `-` or `.` in a name becomes `_`.",
        "  Values filled from the token response become `tokenMetadataFields.otherFields`.",
        "- `A || B`: kept as template alternatives (the first whose variables all have values).",
        "- OAuth: PKCE on unless `disablePkce` (`grantType` `authorizationCodePKCE`, else",
        '  `authorizationCode` with label `pkce: "false"`); client authentication in label',
        "  `tokenAuthMethod` (`basic` for `tokenRequestAuthMethod: basic` or",
        "  `authorizationMethod: header`, else `body`); `bodyFormat: json` as label",
        "  `tokenBodyFormat: json`; a `grant_type` equal to the standard one",
        "  is left out of `tokenParams`; `scopeSeparator` only when not a space.",
        "- Other `proxy.headers` and `proxy.query` entries (fixed values, or connection-config",
        "  values) become `proxyHeaders` / `proxyQueryParams`, set on every proxied call in place",
        "  of a client-sent header or parameter of the same name.",
        "- TWO_STEP: a `custom` provider whose `customInputs` are the credentials, with a",
        "  `tokenRequest` (URL, JSON or form body, headers, Basic client credentials, where the",
        "  token and its lifetime are in the answer) and `customHeaders` using `{{.accessToken}}`",
        "  (by default",
        "  `authorization: Bearer {{.accessToken}}`, as the source does).",
        "- Ignored (they do not change the proxied request): retry hints, verification requests,",
        "  `decompress`, `forwardHeadersOnRedirect`, display categories and doc links.",
        "",
    ]
    return "\n".join(lines)


def _reason_kind(reason: str) -> str:
    for needle, kind in (
        ("auth mode", "auth mode Passway does not serve"),
        ("body format", "OAuth option Passway lacks"),
        ("request body", "credential or value in the request body"),
        ("catalog rules", "template Passway cannot make safe"),
        ("would replace the credential", "header that replaces the credential's own"),
        ("several curated", "ambiguous match with curated providers"),
        ("source's alias", "alias of an entry not converted"),
        ("has no Passway equivalent", "template Passway cannot express (credentials, signing)"),
        ("OAuth field", "OAuth option Passway lacks"),
        ("format", "OAuth option Passway lacks"),
        ("client authentication", "OAuth option Passway lacks"),
        ("refresh", "OAuth option Passway lacks"),
        ("templated", "templated OAuth parameter"),
        ("API key", "API-key placement Passway cannot express"),
        ("replaces the Authorization header", "own Authorization header (signing, tokens)"),
        ("two-step", "two-step option Passway lacks (assertions, extra steps, refresh)"),
        ("requested with", "two-step option Passway lacks (assertions, extra steps, refresh)"),
        ("expiry given as", "two-step option Passway lacks (assertions, extra steps, refresh)"),
        ("token answer field", "two-step option Passway lacks (assertions, extra steps, refresh)"),
        ("is not a string", "two-step option Passway lacks (assertions, extra steps, refresh)"),
        ("sets itself", "OAuth parameter Passway's request sets itself"),
        ("grant_type", "OAuth option Passway lacks"),
        ("no authorization URL", "OAuth option Passway lacks"),
        ("only the source's own flow", "value only the source's own flow fills"),
        ("certificate", "client TLS certificate"),
    ):
        if needle in reason:
            return kind
    return "other"


def trimmed(facts: dict[str, Any]) -> dict[str, Any]:
    """The facts the converter and the tests read (no docs, categories, retry or verification)."""
    keep = {
        "name",
        "displayName",
        "authMode",
        "aliasOf",
        "aliasOverrides",
        "proxy",
        "oauth",
        "tokenRequest",
        "connectionConfig",
        "credentials",
        "requireClientCertificate",
    }
    providers = []
    for p in facts["providers"]:
        item = {k: v for k, v in p.items() if k in keep}
        if "proxy" in item:
            item["proxy"] = {
                k: v for k, v in item["proxy"].items() if k not in ("retry", "verification")
            }
            for flag in ("decompress", "forwardHeadersOnRedirect"):
                if flag in item["proxy"]:
                    item["proxy"][flag] = True
        providers.append(item)
    overlap = {k: facts["overlap"][k] for k in ("matchedByName", "matchedByHost")}
    return {
        "source": facts["source"],
        "defaults": facts["defaults"],
        "providers": providers,
        "overlap": overlap,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facts", type=Path, default=FACTS)
    parser.add_argument("--write-trimmed", type=Path, help="write the trimmed facts here first")
    parser.add_argument("--check", action="store_true", help="fail if the outputs would change")
    args = parser.parse_args(argv)
    facts = json.loads(args.facts.read_text("utf-8"))
    if args.write_trimmed:
        facts = trimmed(facts)
        args.write_trimmed.write_text(json.dumps(facts, indent=1, sort_keys=True) + "\n", "utf-8")
    curated = json.loads(CURATED.read_text("utf-8"))["providers"]
    result = plan(facts, curated)
    outputs = {
        OUTPUT: json.dumps(catalog_document(facts, result), indent=1) + "\n",
        REPORT: report(facts, result),
    }
    if args.check:
        stale = [str(p) for p, text in outputs.items() if p.read_text("utf-8") != text]
        if stale:
            print("out of date:", *stale, file=sys.stderr)
            return 1
        return 0
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    for path, text in outputs.items():
        path.write_text(text, "utf-8")
    print(
        f"converted {len(result.converted)}, aliases {len(result.aliases)}, "
        f"not converted {len(result.refused)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
