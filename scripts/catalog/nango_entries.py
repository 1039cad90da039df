"""One Nango provider entry of a plain auth mode (API key, basic, OAuth 2) as a Passway catalog
entry, or the reason it cannot be one; two-step entries go to ``nango_two_step``.
"""

from __future__ import annotations

from typing import Any

from nango_terms import (
    HEADER_NAME,
    PROXY_IGNORED,
    Converted,
    Refused,
    TemplateConverter,
    check_later_values,
    metadata_fields,
    template_variables,
)
from nango_two_step import convert_two_step

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
        if not HEADER_NAME.match(header):
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
    metadata_inputs, token_fields, later = metadata_fields(p, templates)
    if metadata_inputs:
        entry["metadataInputs"] = metadata_inputs
    if token_fields:
        entry["tokenMetadataFields"] = {"otherFields": token_fields}
    check_later_values(entry, later)
    entry["support"] = {
        "delete": False,
        "proxy": True,
        "read": False,
        "subscribe": False,
        "write": False,
    }
    urls = ("baseURL", "authURL", "tokenURL")
    entry["templateVars"] = sorted({v for key in urls for v in template_variables(entry.get(key))})
    entry["postAuthInfoNeeded"] = False
    labels = dict(entry.pop("labels", {}))
    labels["sourceKey"] = p["name"]
    entry["labels"] = dict(sorted(labels.items()))
    return Converted(entry, notes)


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
        template_variables(entry.get("authURL")) or template_variables(entry.get("tokenURL"))
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


def compatible(mode: str, curated: dict[str, Any]) -> bool:
    auth, grant = curated["authType"], curated.get("grantType")
    if mode == "OAUTH2":
        return auth == "oauth2" and grant in ("authorizationCode", "authorizationCodePKCE")
    if mode == "OAUTH2_CC":
        return auth == "oauth2" and grant == "clientCredentials"
    return SERVED.get(mode) == auth
