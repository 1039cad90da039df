"""An operator catalog file with loopback test providers, one per way of attaching credentials.

``write_test_catalog(path, upstream_url)`` writes it (the ``PASSWAY_CATALOG_FILE`` format) and
returns the path. Every provider points at ``upstream_url`` (a ``RecordingUpstream``), so a test can
check exactly what the provider received. Provider names are the module constants below.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

OAUTH2_BEARER = "test-oauth2"
OAUTH2_HEADER = "test-oauth2-header"  # token in X-Test-Access-Token, no prefix (like Shopify)
APIKEY_BEARER = "test-apikey-bearer"  # Authorization: Bearer <key>
APIKEY_TOKEN_PREFIX = "test-apikey-token"  # Authorization: Token token=<key>
APIKEY_NO_PREFIX = "test-apikey-header"  # X-Api-Token: <key>
APIKEY_QUERY = "test-apikey-query"  # ?api_key=<key>
BASIC = "test-basic"
CUSTOM = "test-custom"  # X-Custom-Token header and ?account= query from custom inputs
TEMPLATED = "test-templated"  # base URL http://127.0.0.1:<port>/{{.workspace}}, apiKey bearer
BASE_PATH = "test-basepath"  # base URL <upstream>/base/v1, apiKey bearer
NO_PROXY = "test-noproxy"  # support.proxy false
MODULES = "test-modules"  # default module "api" at <upstream>/module-api
UNREACHABLE = "test-unreachable"  # a loopback port nothing listens on (connection refused)
EGRESS_BLOCKED = "test-egress-blocked"  # 127.0.0.2: loopback, but not in the test egress allow list

ALL_AUTH_PROVIDERS = (
    OAUTH2_BEARER,
    OAUTH2_HEADER,
    APIKEY_BEARER,
    APIKEY_TOKEN_PREFIX,
    APIKEY_NO_PREFIX,
    APIKEY_QUERY,
    BASIC,
    CUSTOM,
)

_SUPPORT = {"proxy": True, "read": False, "write": False, "subscribe": False, "delete": False}


def _provider(name: str, auth_type: str, base_url: str, **fields: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": name,
        "displayName": name.replace("-", " ").title(),
        "authType": auth_type,
        "baseURL": base_url,
        "support": dict(_SUPPORT),
        "templateVars": [],
        "postAuthInfoNeeded": False,
    }
    entry.update(fields)
    return entry


def _oauth2(name: str, base_url: str, token_url: str, **fields: Any) -> dict[str, Any]:
    return _provider(
        name,
        "oauth2",
        base_url,
        grantType="authorizationCode",
        authURL=f"{token_url.rsplit('/', 1)[0]}/authorize",
        tokenURL=token_url,
        explicitScopesRequired=False,
        explicitWorkspaceRequired=False,
        **fields,
    )


def _api_key_header(name: str, base_url: str, header: str, prefix: str) -> dict[str, Any]:
    return _provider(
        name,
        "apiKey",
        base_url,
        apiKeyAttachment="header",
        apiKeyHeaderName=header,
        apiKeyHeaderValuePrefix=prefix,
    )


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def catalog_providers(upstream_url: str, token_url: str | None = None) -> list[dict[str, Any]]:
    """The provider entries (JSON form) pointing at ``upstream_url``."""
    base = upstream_url.rstrip("/")
    port = base.rsplit(":", 1)[-1]
    token = token_url or f"{base}/oauth/token"
    return [
        _oauth2(OAUTH2_BEARER, base, token),
        _oauth2(
            OAUTH2_HEADER,
            base,
            token,
            oauth2AccessTokenHeader={"name": "X-Test-Access-Token", "valuePrefix": ""},
        ),
        _api_key_header(APIKEY_BEARER, base, "Authorization", "Bearer "),
        _api_key_header(APIKEY_TOKEN_PREFIX, base, "Authorization", "Token token="),
        _api_key_header(APIKEY_NO_PREFIX, base, "X-Api-Token", ""),
        _provider(
            APIKEY_QUERY, "apiKey", base, apiKeyAttachment="query", apiKeyQueryName="api_key"
        ),
        _provider(BASIC, "basic", base),
        _provider(
            CUSTOM,
            "custom",
            base,
            customInputs=["token", "account"],
            customHeaders=[{"name": "X-Custom-Token", "valueTemplate": "{{ .token }}"}],
            customQueryParams=[{"name": "account", "valueTemplate": "{{.account}}"}],
        ),
        {
            **_api_key_header(TEMPLATED, f"{base}/{{{{.workspace}}}}", "Authorization", "Bearer "),
            "templateVars": ["workspace"],
            "metadataInputs": [{"name": "workspace"}],
        },
        _api_key_header(BASE_PATH, f"{base}/base/v1", "Authorization", "Bearer "),
        {
            **_api_key_header(NO_PROXY, base, "Authorization", "Bearer "),
            "support": {**_SUPPORT, "proxy": False},
        },
        {
            **_api_key_header(MODULES, f"{base}/root", "Authorization", "Bearer "),
            "defaultModule": "api",
            "modules": {
                "api": {"baseURL": f"{base}/module-api", "proxy": True},
                "closed": {"baseURL": f"{base}/module-closed", "proxy": False},
            },
        },
        _api_key_header(
            UNREACHABLE, f"http://127.0.0.1:{_closed_port()}", "Authorization", "Bearer "
        ),
        _api_key_header(EGRESS_BLOCKED, f"http://127.0.0.2:{port}", "Authorization", "Bearer "),
    ]


def write_test_catalog(path: Path, upstream_url: str, *, token_url: str | None = None) -> Path:
    """Write the operator catalog file; ``path`` may be a directory (``catalog.json`` inside it)."""
    target = path / "catalog.json" if path.is_dir() else path
    target.parent.mkdir(parents=True, exist_ok=True)
    document = {"providers": catalog_providers(upstream_url, token_url)}
    target.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return target
