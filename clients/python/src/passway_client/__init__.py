"""Python client for Passway: proxy calls through ``httpx`` and the typed management API::

    from passway_client import Passway

    with Passway("http://127.0.0.1:8080", api_key, project="acme") as passway:
        with passway.proxy(integration="salesforce-proxy", group_ref="customer-42") as sf:
            sf.get("/services/data/v56.0/limits")

``AsyncPassway`` is the same with ``async``/``await`` (its ``proxy`` gives an
``httpx.AsyncClient``). The async code is the source (``_async/``); ``_sync/`` is generated from it
by ``clients/python/unasync.py``.
"""

from passway_client._async.client import AsyncPassway
from passway_client._sync.client import Passway
from passway_client.errors import (
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    Issue,
    MethodNotAllowedError,
    NotFoundError,
    PasswayError,
    PayloadTooLargeError,
    PermissionDeniedError,
    ReauthorizationNeededError,
    ServerError,
    ThrottledError,
    UpstreamError,
    is_passway_error,
)
from passway_client.proxy import ApiKeyAuth, async_proxy_client, proxy_client, proxy_headers

__version__ = "0.1.0"

__all__ = [
    "ApiKeyAuth",
    "AsyncPassway",
    "AuthenticationError",
    "ConflictError",
    "InvalidRequestError",
    "Issue",
    "MethodNotAllowedError",
    "NotFoundError",
    "Passway",
    "PasswayError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "ReauthorizationNeededError",
    "ServerError",
    "ThrottledError",
    "UpstreamError",
    "async_proxy_client",
    "is_passway_error",
    "proxy_client",
    "proxy_headers",
]
