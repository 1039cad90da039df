"""The egress guard inside a real aiohttp session: refused targets are never connected to.

A raw TCP server on loopback counts every connection it accepts, so "no connection attempt" is
observed, not assumed. The session is the one ``bootstrap.build_http_session`` builds.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from passway.bootstrap import build_http_session
from passway.egress import EgressPolicy, GuardedConnector, egress_denial
from passway.errors import EgressDenied
from passway.settings import Settings
from support.counting_server import CountingServer


class FixedResolver(AbstractResolver):
    """Resolves every name to fixed addresses: a DNS answer the attacker controls (rebinding)."""

    def __init__(self, addresses: Sequence[str]) -> None:
        self.addresses = list(addresses)
        self.calls = 0

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.calls += 1
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for address in self.addresses
        ]

    async def close(self) -> None:
        return None


@pytest.fixture
async def server() -> AsyncIterator[CountingServer]:
    async with CountingServer() as running:
        yield running


def _session(allow: tuple[str, ...]) -> aiohttp.ClientSession:
    settings = Settings(egress_allow=allow)
    return build_http_session(settings, EgressPolicy.from_settings(allow))


async def _denied(session: aiohttp.ClientSession, url: str) -> EgressDenied:
    with pytest.raises(aiohttp.ClientError) as caught:
        async with session.get(url) as response:
            await response.read()
    denied = egress_denial(caught.value)
    assert denied is not None, f"not an egress refusal: {caught.value!r}"
    return denied


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1", "loopback address"),
        ("localhost", "loopback address"),
        ("[::ffff:127.0.0.1]", "IPv4-mapped loopback address"),
    ],
)
async def test_loopback_is_refused_by_default_without_connecting(
    server: CountingServer, host: str, reason: str
) -> None:
    async with _session(()) as session:
        denied = await _denied(session, f"http://{host}:{server.port}/")
        # A second call goes through aiohttp's DNS cache: still refused.
        again = await _denied(session, f"http://{host}:{server.port}/")
    assert reason in denied.detail and reason in again.detail
    assert denied.context["reason"] == reason
    assert server.connections == 0


async def test_unspecified_address_is_refused_without_connecting(server: CountingServer) -> None:
    async with _session(()) as session:
        denied = await _denied(session, f"http://0.0.0.0:{server.port}/")
    assert denied.context["reason"] == "unspecified address"
    assert server.connections == 0


@pytest.mark.parametrize(
    ("allow", "host"),
    [
        (("127.0.0.1",), "127.0.0.1"),
        (("127.0.0.0/8",), "127.0.0.1"),
        (("localhost",), "localhost"),
        (("127.0.0.1",), "localhost"),
    ],
)
async def test_listed_targets_are_reached(
    server: CountingServer, allow: tuple[str, ...], host: str
) -> None:
    async with _session(allow) as session, session.get(f"http://{host}:{server.port}/") as response:
        assert response.status == 200
        assert await response.read() == b"ok"
    assert server.connections == 1


async def test_a_public_name_resolving_to_loopback_is_refused(server: CountingServer) -> None:
    """The check runs on the address actually connected to, after DNS: no rebinding window."""
    resolver = FixedResolver(["127.0.0.1"])
    connector = GuardedConnector(egress=EgressPolicy(), resolver=resolver)
    async with aiohttp.ClientSession(connector=connector) as session:
        denied = await _denied(session, f"http://api.example.com:{server.port}/")
    assert resolver.calls == 1
    assert denied.context == {
        "host": "api.example.com",
        "address": "127.0.0.1",
        "reason": "loopback address",
    }
    assert server.connections == 0


async def test_only_the_allowed_addresses_of_a_mixed_answer_are_used(
    server: CountingServer,
) -> None:
    resolver = FixedResolver(["169.254.169.254", "127.0.0.1"])
    policy = EgressPolicy.from_settings(["127.0.0.1"])
    connector = GuardedConnector(egress=policy, resolver=resolver)
    kwargs: dict[str, Any] = {"timeout": aiohttp.ClientTimeout(total=5)}
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.get(f"http://api.example.com:{server.port}/", **kwargs) as response,
    ):
        assert response.status == 200
    assert server.connections == 1
