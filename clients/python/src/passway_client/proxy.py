"""httpx clients that send every request through Passway's proxy for one installation.

Code written against a provider's API keeps its paths, verbs and bodies and only swaps its base URL
for Passway's: the client adds ``x-amp-proxy-version``, ``x-amp-project-id``, ``x-api-key`` and
the installation headers (``x-amp-installation-id``, or ``x-amp-integration-name`` and
``x-amp-group-ref``).

The provider's answers, errors included, come back as they are. Only Passway's own errors (answers
carrying ``x-passway-error``: bad key, unknown installation, egress denied, ...) are raised as
``PasswayError``, unless ``raise_passway_errors=False``.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import Any

import httpx

from passway_client.errors import araise_for_passway_error, raise_for_passway_error

PROXY_VERSION = "1"


class ApiKeyAuth(httpx.Auth):
    """Adds ``x-api-key`` to each request, so the key never sits in a client's default headers
    (which show in ``repr``) and is never part of a repr here either."""

    def __init__(self, api_key: str) -> None:
        if not api_key:
            raise ValueError("api_key is empty")
        self._api_key = api_key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["x-api-key"] = self._api_key
        yield request

    def __repr__(self) -> str:
        return f"ApiKeyAuth(api_key='{self._api_key[:3]}...')"


def proxy_headers(
    project_id: str,
    *,
    installation_id: str | None = None,
    integration: str | None = None,
    group_ref: str | None = None,
    throttle: bool = False,
    timeout_seconds: float | None = None,
) -> dict[str, str]:
    """The ``x-amp-*`` headers of a proxy call (without the API key)."""
    if not project_id:
        raise ValueError("project_id is empty")
    headers = {"x-amp-proxy-version": PROXY_VERSION, "x-amp-project-id": project_id}
    if installation_id is not None:
        headers["x-amp-installation-id"] = installation_id
    elif integration is not None and group_ref is not None:
        headers["x-amp-integration-name"] = integration
        headers["x-amp-group-ref"] = group_ref
    else:
        raise ValueError("give installation_id, or integration and group_ref")
    if throttle:
        headers["x-amp-rate-limiter-mode"] = "throttle"
    if timeout_seconds is not None:
        headers["x-amp-timeout-seconds"] = f"{timeout_seconds:g}"
    return headers


def _client_options(
    base_url: str,
    api_key: str,
    project_id: str,
    *,
    installation_id: str | None,
    integration: str | None,
    group_ref: str | None,
    throttle: bool,
    timeout_seconds: float | None,
    headers: Mapping[str, str] | None,
) -> dict[str, Any]:
    merged = dict(headers or {})
    merged.update(
        proxy_headers(
            project_id,
            installation_id=installation_id,
            integration=integration,
            group_ref=group_ref,
            throttle=throttle,
            timeout_seconds=timeout_seconds,
        )
    )
    return {"base_url": base_url, "headers": merged, "auth": ApiKeyAuth(api_key)}


def proxy_client(
    base_url: str,
    api_key: str,
    project_id: str,
    *,
    installation_id: str | None = None,
    integration: str | None = None,
    group_ref: str | None = None,
    throttle: bool = False,
    timeout_seconds: float | None = None,
    raise_passway_errors: bool = True,
    headers: Mapping[str, str] | None = None,
    **httpx_options: Any,
) -> httpx.Client:
    """An ``httpx.Client`` whose requests go through Passway (at ``base_url``) for one
    installation: ``installation_id``, or ``integration`` (amp.yaml name) with ``group_ref``.

    ``throttle`` turns on throttle mode; ``timeout_seconds`` sets ``x-amp-timeout-seconds``;
    ``httpx_options`` go to ``httpx.Client`` (``timeout``, ``transport``, ...).
    """
    options = _client_options(
        base_url,
        api_key,
        project_id,
        installation_id=installation_id,
        integration=integration,
        group_ref=group_ref,
        throttle=throttle,
        timeout_seconds=timeout_seconds,
        headers=headers,
    )
    if raise_passway_errors:
        hooks = httpx_options.setdefault("event_hooks", {})
        hooks.setdefault("response", []).append(raise_for_passway_error)
    return httpx.Client(**options, **httpx_options)


def async_proxy_client(
    base_url: str,
    api_key: str,
    project_id: str,
    *,
    installation_id: str | None = None,
    integration: str | None = None,
    group_ref: str | None = None,
    throttle: bool = False,
    timeout_seconds: float | None = None,
    raise_passway_errors: bool = True,
    headers: Mapping[str, str] | None = None,
    **httpx_options: Any,
) -> httpx.AsyncClient:
    """``proxy_client`` as an ``httpx.AsyncClient``."""
    options = _client_options(
        base_url,
        api_key,
        project_id,
        installation_id=installation_id,
        integration=integration,
        group_ref=group_ref,
        throttle=throttle,
        timeout_seconds=timeout_seconds,
        headers=headers,
    )
    if raise_passway_errors:
        hooks = httpx_options.setdefault("event_hooks", {})
        hooks.setdefault("response", []).append(araise_for_passway_error)
    return httpx.AsyncClient(**options, **httpx_options)
