"""Two-step auth: a token obtained from the connection's credentials, then sent on every call.

A ``custom`` provider with a ``tokenRequest`` first POSTs the connection's custom inputs to a login
or token URL, reads the token from the answer, and renders its ``customHeaders`` with that token as
the variable ``accessToken`` (e.g. ``Authorization: Bearer {{.accessToken}}``). The catalog form::

    "tokenRequest": {
      "url": "https://{{.domain}}/connect/token",     URL template over the connection's metadata
      "bodyFormat": "json" | "form",
      "params": {"username": "{{.username}}"},      templates over the custom inputs
      "headers": {"accept": "application/json"},     templates over the custom inputs
      "basicAuth": {"username": "{{.clientId}}", "password": "{{.clientSecret}}"},   optional
      "tokenPath": "data.token",                      where the token is in the JSON answer
      "expiresInPath": "expires_in",                  optional: seconds until it expires
      "expiresInSeconds": 3600                        optional: a fixed lifetime
    }

Pure: building the request and reading the answer. ``passway.proxy.token_step`` sends it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

from passway.core.template_syntax import (
    TemplateSyntaxError,
    alternatives,
    parse_url_template,
    split_template,
)
from passway.core.templates import render_template, render_url
from passway.errors import TokenEndpointError

BodyFormat = Literal["json", "form"]
TOKEN_VARIABLE = "accessToken"  # noqa: S105 - a template variable name
_KNOWN = {
    "url",
    "bodyFormat",
    "params",
    "headers",
    "basicAuth",
    "tokenPath",
    "expiresInPath",
    "expiresInSeconds",
}
_FORBIDDEN_IN_HEADER = ("\r", "\n", "\0")


@dataclass(frozen=True, slots=True)
class TokenRequest:
    url: str
    body_format: BodyFormat
    token_path: str
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    expires_in_path: str | None = None
    expires_in_seconds: int | None = None
    # ``Authorization: Basic base64(username:password)``, both templates over the inputs
    basic_auth: tuple[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "url": self.url,
            "bodyFormat": self.body_format,
            "params": dict(self.params),
            "headers": dict(self.headers),
            "tokenPath": self.token_path,
        }
        if self.expires_in_path is not None:
            out["expiresInPath"] = self.expires_in_path
        if self.expires_in_seconds is not None:
            out["expiresInSeconds"] = self.expires_in_seconds
        if self.basic_auth is not None:
            out["basicAuth"] = {"username": self.basic_auth[0], "password": self.basic_auth[1]}
        return out


def parse_token_request(raw: Mapping[str, Any]) -> TokenRequest:
    """Build the spec from its JSON form, which ``token_request_problems`` has accepted."""
    return TokenRequest(
        url=raw["url"],
        body_format=raw["bodyFormat"],
        token_path=raw["tokenPath"],
        params=dict(raw.get("params") or {}),
        headers=dict(raw.get("headers") or {}),
        expires_in_path=raw.get("expiresInPath"),
        expires_in_seconds=raw.get("expiresInSeconds"),
        basic_auth=(
            (raw["basicAuth"]["username"], raw["basicAuth"]["password"])
            if raw.get("basicAuth")
            else None
        ),
    )


def token_request_problems(raw: Any, auth_type: Any) -> Iterator[tuple[str, str]]:
    """``(field, message)`` for every problem of a ``tokenRequest`` value."""
    if not isinstance(raw, dict):
        yield "tokenRequest", "must be an object"
        return
    if auth_type != "custom":
        yield "tokenRequest", "is only for custom providers"
    for key in sorted(set(raw) - _KNOWN):
        yield f"tokenRequest.{key}", "unknown field"
    url = raw.get("url")
    if not isinstance(url, str) or not url:
        yield "tokenRequest.url", "is required"
    else:
        try:
            for option in alternatives(url):
                parse_url_template(option)
        except TemplateSyntaxError as exc:
            yield "tokenRequest.url", f"not a usable URL template: {exc}"
    if raw.get("bodyFormat") not in ("json", "form"):
        yield "tokenRequest.bodyFormat", "must be 'json' or 'form'"
    for key in ("tokenPath", "expiresInPath"):
        value = raw.get(key)
        if (key == "tokenPath" or value is not None) and (not isinstance(value, str) or not value):
            yield f"tokenRequest.{key}", "must be a non-empty dot path"
    seconds = raw.get("expiresInSeconds")
    if seconds is not None and (not isinstance(seconds, int) or seconds <= 0):
        yield "tokenRequest.expiresInSeconds", "must be a positive integer"
    basic = raw.get("basicAuth")
    if basic is not None and (
        not isinstance(basic, dict)
        or set(basic) != {"username", "password"}
        or not all(isinstance(v, str) for v in basic.values())
    ):
        yield "tokenRequest.basicAuth", "must be an object with username and password templates"
    for key in ("params", "headers"):
        values = raw.get(key) or {}
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            yield f"tokenRequest.{key}", "must be an object of strings"
            continue
        for name, template in values.items():
            try:
                list(split_template(template))
            except TemplateSyntaxError as exc:
                yield f"tokenRequest.{key}.{name}", str(exc)


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    url: str
    headers: dict[str, str]
    body: bytes


def prepare(
    spec: TokenRequest, inputs: Mapping[str, str], template_values: Mapping[str, str]
) -> PreparedRequest:
    """The request to send: ``inputs`` are the custom inputs (credentials), ``template_values`` the
    connection's metadata values; params and headers may use both (the catalog keeps their names
    apart). A missing value raises ``TemplateVariableMissing``."""
    url = render_url(spec.url, template_values)
    values = {**template_values, **inputs}
    params = {name: render_template(t, values) for name, t in spec.params.items()}
    headers = {name: render_template(t, values) for name, t in spec.headers.items()}
    if any(c in value for value in headers.values() for c in _FORBIDDEN_IN_HEADER):
        raise TokenEndpointError("A credential cannot be sent in a token request header.")
    if spec.basic_auth is not None:
        user, password = (render_template(t, values) for t in spec.basic_auth)
        pair = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        headers["Authorization"] = "Basic " + pair
    lowered = {name.lower() for name in headers}
    if spec.body_format == "json":
        body = json.dumps(params).encode("utf-8")
        content_type = "application/json"
    else:
        body = urlencode(params).encode("ascii")
        content_type = "application/x-www-form-urlencoded"
    if "content-type" not in lowered:
        headers["Content-Type"] = content_type
    if "accept" not in lowered:
        headers["Accept"] = "application/json"
    return PreparedRequest(url, headers, body)


@dataclass(frozen=True, slots=True)
class StepToken:
    token: str
    expires_in: float | None  # seconds from now; None when the answer does not say


def read_answer(spec: TokenRequest, status: int, body: bytes) -> StepToken:
    """The token (and lifetime) of a token endpoint's answer; anything else is an error that
    names what was wrong, never the body (it may hold secrets)."""
    if not 200 <= status < 300:
        raise TokenEndpointError(f"The token endpoint answered {status}.")
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise TokenEndpointError("The token endpoint did not answer JSON.") from None
    token = _at(document, spec.token_path)
    if not isinstance(token, str) or not token:
        raise TokenEndpointError(f"The token endpoint's answer has no {spec.token_path!r}.")
    if any(c in token for c in _FORBIDDEN_IN_HEADER):
        raise TokenEndpointError("The token endpoint answered a token that cannot be sent.")
    expires_in: float | None = spec.expires_in_seconds
    if spec.expires_in_path is not None:
        expires_in = _seconds(_at(document, spec.expires_in_path)) or expires_in
    return StepToken(token, expires_in)


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    return float(value) if isinstance(value, int | float) and value > 0 else None


def _at(document: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(document, dict) or part not in document:
            return None
        document = document[part]
    return document
