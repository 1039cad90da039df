"""Token endpoint calls go through the same client and egress guard as proxied calls.

A raw TCP server on loopback counts every connection it accepts, so "no connection attempt" is
observed, not assumed. The client is the one the composition root builds (``Http1Client`` with the
``EgressPolicy`` as its address guard); ``request_token`` is what every grant uses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from passway.egress import EgressPolicy
from passway.errors import EgressDenied, TokenEndpointError
from passway.http1.client.pool import Http1Client
from passway.oauth.client import ClientAuth, TokenRejected, request_token
from support.counting_server import CountingServer

FORM = {"grant_type": "client_credentials"}
CLIENT = ClientAuth("client-id", "client-secret")


@pytest.fixture
async def server() -> AsyncIterator[CountingServer]:
    async with CountingServer() as running:
        yield running


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1", "loopback address"),
        ("localhost", "loopback address"),
        ("[::ffff:127.0.0.1]", "IPv4-mapped loopback address"),
        ("0.0.0.0", "unspecified address"),
    ],
)
async def test_a_token_endpoint_on_a_refused_address_is_never_connected_to(
    server: CountingServer, host: str, reason: str
) -> None:
    client = Http1Client(EgressPolicy.from_settings([]), pool_size=4)
    try:
        for _ in range(2):  # the second call must not slip through any cache
            with pytest.raises(EgressDenied) as caught:
                await request_token(
                    client, f"http://{host}:{server.port}/token", FORM, CLIENT, timeout=5
                )
            assert caught.value.context["reason"] == reason
            assert "client-secret" not in caught.value.detail
    finally:
        await client.aclose()
    assert server.connections == 0


@pytest.mark.parametrize(
    ("allow", "host"),
    [(("127.0.0.1",), "127.0.0.1"), (("127.0.0.0/8",), "127.0.0.1"), (("localhost",), "localhost")],
)
async def test_an_allowed_token_endpoint_is_reached(
    server: CountingServer, allow: tuple[str, ...], host: str
) -> None:
    client = Http1Client(EgressPolicy.from_settings(allow), pool_size=4)
    try:
        # The counting server answers a plain "ok": not a token response, but it was reached.
        with pytest.raises((TokenEndpointError, TokenRejected)):
            await request_token(
                client, f"http://{host}:{server.port}/token", FORM, CLIENT, timeout=5
            )
    finally:
        await client.aclose()
    assert server.connections == 1
    assert server.requests[0].startswith(b"POST /token HTTP/1.1\r\n")
