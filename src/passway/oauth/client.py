"""Calls to a provider's token endpoint (RFC 6749 section 3.2), and nothing else.

Client authentication goes in the form body (``client_id``/``client_secret``) or as HTTP Basic,
whichever the provider needs (``passway.oauth.grants.token_auth_method``). When body authentication
is answered ``401 invalid_client`` we retry once with Basic: client authentication fails before the
server looks at the grant, so the retry can never spend a code or a refresh token twice.

Errors: a 4xx with an OAuth error body raises ``TokenRejected`` (the caller decides: revoked grant,
bad client credentials...); network failures, timeouts, 5xx and malformed bodies raise
``TokenEndpointError``. No message carries a secret.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, urlencode

from passway.core.tokens import (
    MalformedTokenResponse,
    TokenResponse,
    decode_token_body,
    oauth_error_code,
    parse_token_response,
)
from passway.egress import egress_denial
from passway.errors import PasswayError, TokenEndpointError, UpstreamTimeout
from passway.http1.client.fetch import AnswerTooLarge, fetch
from passway.http1.client.pool import Http1Client

AuthMethod = Literal["body", "basic"]
BodyFormat = Literal["form", "json"]


@dataclass(frozen=True, slots=True)
class ClientAuth:
    client_id: str
    client_secret: str | None
    method: AuthMethod = "body"
    # How the token request's fields are sent: a form (RFC 6749) or, for the providers that
    # want it, a JSON object (catalog label ``tokenBodyFormat: json``).
    body_format: BodyFormat = "form"


class TokenRejected(Exception):
    """The token endpoint refused the request (4xx). ``error`` is the RFC 6749 error code."""

    def __init__(self, status: int, error: str | None, description: str | None) -> None:
        super().__init__(f"token endpoint answered {status} {error or ''}".strip())
        self.status = status
        self.error = error
        self.description = description


def _basic_header(client: ClientAuth) -> str:
    user = quote(client.client_id, safe="")
    password = quote(client.client_secret or "", safe="")
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def build_token_request(
    form: Mapping[str, str], client: ClientAuth | None, method: AuthMethod
) -> tuple[dict[str, str], dict[str, str]]:
    """The form fields and headers of one token request (pure)."""
    body = dict(form)
    json_body = client is not None and client.body_format == "json"
    headers = {
        "Accept": "application/json",
        "Content-Type": "application/json" if json_body else "application/x-www-form-urlencoded",
    }
    if client is not None:
        if method == "basic":
            headers["Authorization"] = _basic_header(client)
        else:
            body["client_id"] = client.client_id
            if client.client_secret:
                body["client_secret"] = client.client_secret
    return body, headers


async def _post(
    http: Http1Client,
    url: str,
    form: Mapping[str, str],
    client: ClientAuth | None,
    method: AuthMethod,
    timeout: float,  # noqa: ASYNC109 - a per-call budget handed to fetch, not a cancel scope
) -> TokenResponse:
    body, headers = build_token_request(form, client, method)
    json_body = client is not None and client.body_format == "json"
    try:
        payload = json.dumps(body).encode("utf-8") if json_body else urlencode(body).encode()
        answer = await fetch(http, "POST", url, list(headers.items()), payload, timeout=timeout)
    except TimeoutError:
        raise UpstreamTimeout("The token endpoint did not answer in time") from None
    except PasswayError:
        raise
    except (OSError, AnswerTooLarge) as exc:
        denied = egress_denial(exc)
        if denied is not None:
            raise denied from None
        raise TokenEndpointError(
            f"The token endpoint could not be reached ({type(exc).__name__})"
        ) from None
    raw, status, content_type = answer.body, answer.status, answer.header(b"content-type")
    try:
        document = decode_token_body(raw, content_type)
    except MalformedTokenResponse as exc:
        if 400 <= status < 500:
            raise TokenRejected(status, None, None) from None
        raise TokenEndpointError(f"The token endpoint answered {status}: {exc}") from None
    if 400 <= status < 500:
        description = document.get("error_description")
        raise TokenRejected(
            status, oauth_error_code(document), None if description is None else str(description)
        )
    if status >= 300:
        raise TokenEndpointError(f"The token endpoint answered {status}")
    error = oauth_error_code(document)
    if error is not None and "access_token" not in document:
        # Some providers answer 200 with an error body (GitHub does).
        description = document.get("error_description")
        raise TokenRejected(status, error, None if description is None else str(description))
    try:
        return parse_token_response(document)
    except MalformedTokenResponse as exc:
        raise TokenEndpointError(f"The token endpoint answered {status}: {exc}") from None


async def request_token(
    http: Http1Client,
    url: str,
    form: Mapping[str, str],
    client: ClientAuth | None,
    *,
    timeout: float,  # noqa: ASYNC109 - a per-call budget handed to fetch, not a cancel scope
) -> TokenResponse:
    """POST one grant to the token endpoint and return the parsed token response."""
    method: AuthMethod = client.method if client is not None else "body"
    try:
        return await _post(http, url, form, client, method, timeout)
    except TokenRejected as rejected:
        retry_basic = (
            client is not None
            and method == "body"
            and client.client_secret
            and rejected.status == 401
            and rejected.error == "invalid_client"
        )
        if not retry_basic:
            raise
    return await _post(http, url, form, client, "basic", timeout)
