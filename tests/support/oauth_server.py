"""A real OAuth2 authorization server on loopback, for tests (aiohttp.web on 127.0.0.1, port 0).

Endpoints:
- ``GET /authorize``: checks client_id, redirect_uri and (when sent) the PKCE S256 challenge, then
  redirects back with ``code`` and ``state``; ``deny_next_authorization`` makes it redirect with
  ``error=access_denied`` instead.
- ``POST /token``: ``authorization_code`` (with PKCE verification), ``refresh_token`` (rotation;
  a reused, rotated refresh token REVOKES the whole grant, RFC 9700), ``client_credentials`` and
  ``password``. Client authentication in the body or HTTP Basic (``client_auth`` restricts it).
  Answers JSON or form encoding (``response_encoding``). ``hold_token_calls`` parks token calls
  before (``"before"``) or after (``"after"``) the server commits the rotation, until ``release``
  is set (``drop_held_calls`` then drops a call held before processing, as if it never arrived).
- ``GET /resource``: 200 with the caller's grant for a valid bearer token, else 401
  (``hold_resource_calls`` parks calls until ``resource_release`` is set).
- ``counters``: every token call by grant type; ``revoke_access_token`` revokes one early.

``oauth_provider_entries(server_url)`` gives catalog entries pointing at a running server (one per
grant and client-authentication variant) and ``make_connection`` builds a connection record.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import secrets
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlencode

import httpx
from aiohttp import web

from passway.catalog import Catalog, parse_provider
from passway.records import AuthScheme, Connection, Credentials, OAuthToken
from support.seed import SeededSetup, seed_proxy_setup
from support.server import ADMIN_KEY

CLIENT_ID = "test-client"
CLIENT_SECRET = "test-secret-value"


@dataclass
class Grant:
    id: str
    scopes: str
    username: str | None = None
    revoked: bool = False
    current_refresh: str | None = None
    used_refresh: set[str] = field(default_factory=set)


@dataclass
class AccessToken:
    grant_id: str
    expires_at: float
    revoked: bool = False


@dataclass
class PendingCode:
    grant_id: str
    client_id: str
    redirect_uri: str
    challenge: str | None
    used: bool = False


class OAuthServer:
    def __init__(
        self,
        *,
        access_ttl: float = 3600.0,
        rotate_refresh_tokens: bool = True,
        client_auth: Literal["any", "body", "basic"] = "any",
        response_encoding: Literal["json", "form"] = "json",
        users: dict[str, str] | None = None,
        extra_token_fields: dict[str, object] | None = None,
    ) -> None:
        self.access_ttl = access_ttl
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.client_auth = client_auth
        self.response_encoding = response_encoding
        self.users = users if users is not None else {"alice": "wonderland"}
        self.extra_token_fields = dict(extra_token_fields or {})
        self.clients = {CLIENT_ID: CLIENT_SECRET}
        self.registered_redirects: set[str] = set()
        self.grants: dict[str, Grant] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_index: dict[str, str] = {}  # refresh token -> grant id (current and used)
        self.codes: dict[str, PendingCode] = {}
        self.counters: Counter[str] = Counter()
        self.token_failures: list[int] = []  # statuses to answer the next token calls with
        self.hold_token_calls: Literal["before", "after"] | None = None
        self.held = asyncio.Event()  # set when a token call is parked
        self.release = asyncio.Event()
        self.drop_held_calls = False  # released held calls answer 503 without processing
        self.hold_resource_calls = False
        self.resource_held = asyncio.Event()
        self.resource_release = asyncio.Event()
        self.deny_next_authorization = False
        self.resource_calls = 0
        self.url = ""
        self._runner: web.AppRunner | None = None

    # ------------------------------------------------------------------------------ lifecycle
    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/authorize", self._authorize)
        app.router.add_post("/token", self._token)
        app.router.add_get("/resource", self._resource)
        app.router.add_route("*", "/resource/{tail:.*}", self._resource)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def close(self) -> None:
        self.release.set()
        self.resource_release.set()
        if self._runner is not None:
            await self._runner.cleanup()

    # ------------------------------------------------------------------------------ knobs
    @property
    def refresh_calls(self) -> int:
        return self.counters["refresh_token"]

    @property
    def token_calls(self) -> int:
        return sum(self.counters.values())

    def new_grant(self, scopes: str = "read") -> tuple[str, str]:
        """Create a grant out of band: ``(access_token, refresh_token)`` as if authorized."""
        grant = Grant(id=secrets.token_hex(8), scopes=scopes)
        self.grants[grant.id] = grant
        access, refresh = self._issue(grant, with_refresh=True)
        assert refresh is not None
        return access, refresh

    def expire_access_token(self, token: str) -> None:
        self.access_tokens[token].expires_at = 0

    def revoke_access_token(self, token: str) -> None:
        self.access_tokens[token].revoked = True

    def grant_of(self, refresh_or_access: str) -> Grant:
        grant_id = self.refresh_index.get(refresh_or_access)
        if grant_id is None:
            grant_id = self.access_tokens[refresh_or_access].grant_id
        return self.grants[grant_id]

    @property
    def revoked_grants(self) -> int:
        return sum(1 for g in self.grants.values() if g.revoked)

    # ------------------------------------------------------------------------------ handlers
    async def _authorize(self, request: web.Request) -> web.Response:
        q = request.query
        redirect_uri = q.get("redirect_uri", "")
        if q.get("client_id") not in self.clients:
            return web.Response(status=400, text="unknown client_id")
        if self.registered_redirects and redirect_uri not in self.registered_redirects:
            return web.Response(status=400, text="redirect_uri not registered")
        if q.get("response_type") != "code":
            return web.Response(status=400, text="response_type must be code")
        challenge = q.get("code_challenge")
        if challenge is not None and q.get("code_challenge_method") != "S256":
            return web.Response(status=400, text="only S256 is supported")
        state = q.get("state", "")
        if self.deny_next_authorization:
            self.deny_next_authorization = False
            denial = {"error": "access_denied", "error_description": "The user said <no>"}
            target = f"{redirect_uri}?" + urlencode({**denial, "state": state})
            raise web.HTTPFound(target)
        grant = Grant(id=secrets.token_hex(8), scopes=q.get("scope", ""))
        self.grants[grant.id] = grant
        code = secrets.token_urlsafe(16)
        self.codes[code] = PendingCode(grant.id, q["client_id"], redirect_uri, challenge)
        raise web.HTTPFound(f"{redirect_uri}?" + urlencode({"code": code, "state": state}))

    async def _resource(self, request: web.Request) -> web.Response:
        self.resource_calls += 1
        if self.hold_resource_calls:
            self.resource_held.set()
            await self.resource_release.wait()
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else ""
        record = self.access_tokens.get(token)
        if record is None or record.revoked or record.expires_at <= time.time():
            return web.json_response({"error": "invalid_token"}, status=401)
        grant = self.grants[record.grant_id]
        if grant.revoked:
            return web.json_response({"error": "invalid_token"}, status=401)
        body = await request.read()
        return web.json_response(
            {"grant": grant.id, "method": request.method, "body": body.decode(errors="replace")}
        )

    def _client(self, request: web.Request, form: dict[str, str]) -> str | None:
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic ") and self.client_auth in ("any", "basic"):
            decoded = base64.b64decode(header[6:]).decode()
            client_id, _, secret = decoded.partition(":")
            client_id, secret = unquote(client_id), unquote(secret)
        elif "client_id" in form and self.client_auth in ("any", "body"):
            client_id, secret = form["client_id"], form.get("client_secret", "")
        else:
            return None
        if self.clients.get(client_id) != secret:
            return None
        return client_id

    def _answer(self, payload: dict[str, object], status: int = 200) -> web.Response:
        if self.response_encoding == "form":
            text = urlencode({k: str(v) for k, v in payload.items()})
            return web.Response(
                status=status, text=text, content_type="application/x-www-form-urlencoded"
            )
        text = json.dumps(payload)
        return web.Response(status=status, text=text, content_type="application/json")

    def _error(self, error: str, status: int = 400) -> web.Response:
        return self._answer({"error": error, "error_description": f"{error} (test server)"}, status)

    def _issue(self, grant: Grant, *, with_refresh: bool) -> tuple[str, str | None]:
        access = "at-" + secrets.token_urlsafe(16)
        self.access_tokens[access] = AccessToken(grant.id, time.time() + self.access_ttl)
        refresh = None
        if with_refresh:
            refresh = "rt-" + secrets.token_urlsafe(16)
            if grant.current_refresh is not None:
                grant.used_refresh.add(grant.current_refresh)
            grant.current_refresh = refresh
            self.refresh_index[refresh] = grant.id
        return access, refresh

    def _token_payload(self, grant: Grant, access: str, refresh: str | None) -> dict[str, object]:
        payload: dict[str, object] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": int(self.access_ttl),
            "scope": grant.scopes,
            **self.extra_token_fields,
        }
        if refresh is not None:
            payload["refresh_token"] = refresh
        return payload

    async def _hold(self, phase: str) -> bool:
        """Park a token call at ``phase`` while asked to; False if it must then be dropped."""
        if self.hold_token_calls == phase:
            self.held.set()
            await self.release.wait()
            return not self.drop_held_calls
        return True

    async def _token(self, request: web.Request) -> web.Response:
        form = dict(parse_qsl((await request.read()).decode(), keep_blank_values=True))
        grant_type = form.get("grant_type", "")
        self.counters[grant_type] += 1
        if not await self._hold("before"):
            return web.Response(status=503, text="dropped before processing")
        if self.token_failures:
            return web.Response(status=self.token_failures.pop(0), text="server trouble")
        client_id = self._client(request, form)
        if client_id is None:
            return self._error("invalid_client", 401)
        if grant_type == "authorization_code":
            return self._code_grant(form, client_id)
        if grant_type == "refresh_token":
            response = self._refresh_grant(form)
            await self._hold("after")
            return response
        if grant_type == "client_credentials":
            grant = Grant(id=secrets.token_hex(8), scopes=form.get("scope", ""))
            self.grants[grant.id] = grant
            access, _ = self._issue(grant, with_refresh=False)
            return self._answer(self._token_payload(grant, access, None))
        if grant_type == "password":
            user = form.get("username", "")
            if self.users.get(user) != form.get("password") or not user:
                return self._error("invalid_grant")
            grant = Grant(id=secrets.token_hex(8), scopes=form.get("scope", ""), username=user)
            self.grants[grant.id] = grant
            access, refresh = self._issue(grant, with_refresh=True)
            return self._answer(self._token_payload(grant, access, refresh))
        return self._error("unsupported_grant_type")

    def _code_grant(self, form: dict[str, str], client_id: str) -> web.Response:
        pending = self.codes.get(form.get("code", ""))
        if pending is None or pending.used or pending.client_id != client_id:
            return self._error("invalid_grant")
        pending.used = True
        if pending.redirect_uri != form.get("redirect_uri"):
            return self._error("invalid_grant")
        if pending.challenge is not None:
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if expected != pending.challenge:
                return self._error("invalid_grant")
        grant = self.grants[pending.grant_id]
        access, refresh = self._issue(grant, with_refresh=True)
        return self._answer(self._token_payload(grant, access, refresh))

    def _refresh_grant(self, form: dict[str, str]) -> web.Response:
        token = form.get("refresh_token", "")
        grant_id = self.refresh_index.get(token)
        if grant_id is None:
            return self._error("invalid_grant")
        grant = self.grants[grant_id]
        if grant.revoked:
            return self._error("invalid_grant")
        if token in grant.used_refresh:
            # RFC 9700 section 4.14.2: reuse of a rotated refresh token revokes the whole grant.
            grant.revoked = True
            for record in self.access_tokens.values():
                if record.grant_id == grant.id:
                    record.revoked = True
            return self._error("invalid_grant")
        access, refresh = self._issue(grant, with_refresh=self.rotate_refresh_tokens)
        return self._answer(self._token_payload(grant, access, refresh))


@contextlib.asynccontextmanager
async def running_oauth_server(**options: object) -> AsyncIterator[OAuthServer]:
    server = OAuthServer(**options)  # type: ignore[arg-type]
    await server.start()
    try:
        yield server
    finally:
        await server.close()


# ---------------------------------------------------------------------- catalog and records
PROVIDER = "oauth-test"  # authorization code, tokens at the loopback OAuth server
PKCE_PROVIDER = "oauth-test-pkce"
BASIC_PROVIDER = "oauth-test-basic"  # label tokenAuthMethod: basic
CC_PROVIDER = "oauth-test-cc"  # client credentials
WORKSPACE_PROVIDER = "oauth-test-workspace"  # URLs templated on {{.workspace}}


def oauth_provider_entries(server_url: str) -> list[dict[str, Any]]:
    """Catalog entries (JSON form) whose endpoints are the loopback ``OAuthServer``."""

    def entry(name: str, grant: str, **extra: Any) -> dict[str, Any]:
        return {
            "name": name,
            "displayName": name,
            "authType": "oauth2",
            "grantType": grant,
            "baseURL": f"{server_url}/resource",
            "authURL": f"{server_url}/authorize",
            "tokenURL": f"{server_url}/token",
            "authURLParams": {"prompt": "consent"},
            "support": {"proxy": True},
            "tokenMetadataFields": {"scopesField": "scope"},
            **extra,
        }

    return [
        entry(PROVIDER, "authorizationCode"),
        entry(PKCE_PROVIDER, "authorizationCodePKCE"),
        entry(BASIC_PROVIDER, "authorizationCode", labels={"tokenAuthMethod": "basic"}),
        entry(CC_PROVIDER, "clientCredentials"),
        entry(
            WORKSPACE_PROVIDER,
            "authorizationCode",
            baseURL=f"{server_url}/resource/{{{{.workspace}}}}",
            authURL=f"{server_url}/authorize?ws={{{{.workspace}}}}",
            tokenURL=f"{server_url}/token?ws={{{{.workspace}}}}",
            explicitWorkspaceRequired=True,
            templateVars=["workspace"],
            tokenMetadataFields={
                "workspaceRefField": "instance_url",
                "consumerRefField": "user.id",
                "scopesField": "scope",
                "otherFields": [
                    {"name": "region", "path": "instance_url", "capture": r"^(?P<result>[a-z]+)-"}
                ],
            },
        ),
    ]


def oauth_catalog(server_url: str) -> Catalog:
    providers = [parse_provider(e) for e in oauth_provider_entries(server_url)]
    return Catalog({p.name: p for p in providers})


def make_connection(
    *,
    access_token: str,
    refresh_token: str | None,
    expires_in: float,
    provider: str = PROVIDER,
    scheme: AuthScheme = "oauth2/authorizationCode",
    client_id: str | None = CLIENT_ID,
    client_secret: str | None = CLIENT_SECRET,
    now: datetime | None = None,
) -> Connection:
    now = now or datetime.now(UTC)
    return Connection(
        id=str(uuid.uuid4()),
        project_id="p1",
        provider=provider,
        group_ref="group-1",
        group_name=None,
        consumer_ref="consumer-1",
        consumer_name=None,
        provider_workspace_ref=None,
        provider_consumer_ref=None,
        provider_metadata={},
        auth_scheme=scheme,
        status="working",
        credentials=Credentials(
            client_id=client_id,
            client_secret=client_secret,
            access_token=OAuthToken(
                access_token, issued_at=now, expires_at=now + timedelta(seconds=expires_in)
            ),
            refresh_token=None if refresh_token is None else OAuthToken(refresh_token),
        ),
        provider_app_id=None,
        version=1,
        create_time=now,
        update_time=now,
    )


# ---------------------------------------------------------------------- Passway-side setup
def write_oauth_catalog(directory: Path, server_url: str) -> Path:
    """An operator catalog file holding the providers of ``oauth_provider_entries``."""
    target = directory / "oauth-catalog.json"
    target.write_text(json.dumps({"providers": oauth_provider_entries(server_url)}), "utf-8")
    return target


async def seed_oauth_proxy_setup(
    client: httpx.AsyncClient,
    oauth: OAuthServer,
    *,
    provider: str = PROVIDER,
    expired: bool = True,
) -> tuple[SeededSetup, str, str]:
    """Through the management API: a project whose ``provider`` connection holds an imported grant
    of ``oauth`` (its access token already expired when ``expired``), an installation, and the
    project's provider app (which refreshes use). Returns the setup, access and refresh tokens."""
    access, refresh = oauth.new_grant()
    now = datetime.now(UTC)
    expires = now - timedelta(seconds=30) if expired else now + timedelta(hours=1)
    if expired:
        oauth.expire_access_token(access)
    setup = await seed_proxy_setup(
        client,
        ADMIN_KEY,
        provider=provider,
        credential={
            "oauth2AuthorizationCode": {
                "accessToken": {"token": access, "expiresAt": expires.isoformat()},
                "refreshToken": {"token": refresh},
            }
        },
    )
    answer = await client.post(
        f"/v1/projects/{setup.project_id}/provider-apps",
        json={"provider": provider, "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET},
        headers={"X-Api-Key": setup.api_key},
    )
    assert answer.status_code == 201, answer.text
    return setup, access, refresh
