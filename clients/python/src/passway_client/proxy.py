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

from collections.abc import AsyncGenerator, Awaitable, Callable, Generator, Mapping
from typing import Any

import httpx

from passway_client.errors import araise_for_passway_error, raise_for_passway_error

PROXY_VERSION = "1"
PROJECT_HEADER = "x-amp-project-id"


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
        return f"{type(self).__name__}(api_key='{self._api_key[:3]}...')"


class _ProjectLookupAuth(ApiKeyAuth):
    """``ApiKeyAuth`` that also sets ``x-amp-project-id``, looked up on first use (a project
    given by name: the proxy needs its id)."""

    def __init__(
        self,
        api_key: str,
        resolve: Callable[[], str] | None = None,
        aresolve: Callable[[], Awaitable[str]] | None = None,
    ) -> None:
        super().__init__(api_key)
        self._resolve = resolve
        self._aresolve = aresolve

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        if self._resolve is not None and PROJECT_HEADER not in request.headers:
            request.headers[PROJECT_HEADER] = self._resolve()
        yield from super().sync_auth_flow(request)

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if self._aresolve is not None and PROJECT_HEADER not in request.headers:
            request.headers[PROJECT_HEADER] = await self._aresolve()
        async for sent in super().async_auth_flow(request):
            yield sent


def proxy_headers(
    project_id: str | None,
    *,
    installation_id: str | None = None,
    integration: str | None = None,
    group_ref: str | None = None,
    throttle: bool = False,
    timeout_seconds: float | None = None,
) -> dict[str, str]:
    """The ``x-amp-*`` headers of a proxy call (without the API key; without the project id when
    it is None, for a client that looks it up on first use)."""
    if project_id is not None and not project_id:
        raise ValueError("project_id is empty")
    headers = {"x-amp-proxy-version": PROXY_VERSION}
    if project_id is not None:
        headers[PROJECT_HEADER] = project_id
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


def _headers(
    project_id: str | None,
    installation_id: str | None,
    integration: str | None,
    group_ref: str | None,
    throttle: bool,
    timeout_seconds: float | None,
    headers: Mapping[str, str] | None,
) -> dict[str, str]:
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
    return merged


def _needs_project(project_id: str | None, resolver: object) -> None:
    if project_id is None and resolver is None:
        raise ValueError("give project_id (the project's UUID) or project_resolver")


def proxy_client(
    base_url: str,
    api_key: str,
    project_id: str | None,
    *,
    project_resolver: Callable[[], str] | None = None,
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

    ``project_id`` is the project's UUID; when it is None, ``project_resolver`` answers it on the
    first request. ``throttle`` turns on throttle mode; ``timeout_seconds`` sets
    ``x-amp-timeout-seconds``; ``httpx_options`` go to ``httpx.Client`` (``timeout``,
    ``transport``, ...).
    """
    _needs_project(project_id, project_resolver)
    merged = _headers(
        project_id, installation_id, integration, group_ref, throttle, timeout_seconds, headers
    )
    if raise_passway_errors:
        hooks = httpx_options.setdefault("event_hooks", {})
        hooks.setdefault("response", []).append(raise_for_passway_error)
    auth = _ProjectLookupAuth(api_key, resolve=project_resolver if project_id is None else None)
    return httpx.Client(base_url=base_url, headers=merged, auth=auth, **httpx_options)


def async_proxy_client(
    base_url: str,
    api_key: str,
    project_id: str | None,
    *,
    project_resolver: Callable[[], Awaitable[str]] | None = None,
    installation_id: str | None = None,
    integration: str | None = None,
    group_ref: str | None = None,
    throttle: bool = False,
    timeout_seconds: float | None = None,
    raise_passway_errors: bool = True,
    headers: Mapping[str, str] | None = None,
    **httpx_options: Any,
) -> httpx.AsyncClient:
    """``proxy_client`` as an ``httpx.AsyncClient`` (``project_resolver`` is awaited)."""
    _needs_project(project_id, project_resolver)
    merged = _headers(
        project_id, installation_id, integration, group_ref, throttle, timeout_seconds, headers
    )
    if raise_passway_errors:
        hooks = httpx_options.setdefault("event_hooks", {})
        hooks.setdefault("response", []).append(araise_for_passway_error)
    auth = _ProjectLookupAuth(api_key, aresolve=project_resolver if project_id is None else None)
    return httpx.AsyncClient(base_url=base_url, headers=merged, auth=auth, **httpx_options)
