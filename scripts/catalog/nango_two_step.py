"""A Nango ``TWO_STEP`` entry (a token fetched from the provider with the customer's own
credentials before the calls) as a Passway catalog entry with a ``tokenRequest``.
"""

from __future__ import annotations

from typing import Any

from nango_terms import (
    BASIC_HELPER,
    HEADER_NAME,
    PROXY_IGNORED,
    Converted,
    Refused,
    TemplateConverter,
    check_later_values,
    metadata_fields,
    template_variables,
    variable_name,
)

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
    basic = BASIC_HELPER.fullmatch(str(headers.get("authorization", "")))
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
        if not HEADER_NAME.match(header):
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
    metadata_inputs, token_fields, later = metadata_fields(p, t)
    if token_fields:
        raise Refused("connection values come from the token answer")
    if metadata_inputs:
        entry["metadataInputs"] = metadata_inputs
    check_later_values(entry, later)
    entry["support"] = {
        "delete": False,
        "proxy": True,
        "read": False,
        "subscribe": False,
        "write": False,
    }
    entry["templateVars"] = sorted(template_variables(entry["baseURL"]))
    entry["postAuthInfoNeeded"] = False
    entry["labels"] = {"sourceKey": p["name"]}
    return Converted(entry, notes)
