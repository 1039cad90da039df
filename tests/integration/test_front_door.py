"""What every port Passway opens promises, on the wire: a chunked request's trailers are never
read as proxy headers nor forwarded upstream (every front door, uvicorn included); on each port
``passway serve`` can open, a request head over 64 KiB is 431, a head must complete within the
header timeout, idle connections close, a malformed body is 400, 405 carries ``Allow``, an
amp.yaml over the limit is 413, and each port serves what it is for.

Requests are written as raw bytes on a socket; the provider is a recording loopback upstream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio

from support import catalog as tc
from support.seed import (
    SeededSetup,
    amp_yaml,
    create_connection,
    create_installation,
    seed_proxy_setup,
)
from support.server import ADMIN_KEY, FRONT_DOORS, ProxyWorld, proxy_world
from support.wire import RawResponse, open_wire, raw_request

pytestmark = pytest.mark.asyncio(loop_scope="module")

WAIT = 15.0  # ceiling for any single wait on the wire (never a timing assertion)
SECRET = "k-front-door-first"
OTHER_SECRET = "k-front-door-other"


@dataclass
class Setup:
    world: ProxyWorld
    first: SeededSetup
    other_installation: str


@pytest_asyncio.fixture(loop_scope="module", scope="module", params=FRONT_DOORS)
async def setup(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Setup]:
    """One project with two installations (two groups, two credentials), per front door."""
    tmp = tmp_path_factory.mktemp("front-door")
    async with proxy_world(tmp, front_door=request.param) as world:
        first = await seed_proxy_setup(
            world.client, ADMIN_KEY, provider=tc.APIKEY_BEARER, credential={"apiKey": SECRET}
        )
        connection = await create_connection(
            world.client,
            first.api_key,
            first.project_id,
            provider=tc.APIKEY_BEARER,
            credential={"apiKey": OTHER_SECRET},
            group_ref="group-other",
        )
        other = await create_installation(
            world.client,
            first.api_key,
            first.project_id,
            first.integration_id,
            group_ref="group-other",
            connection_id=connection["id"],
        )
        yield Setup(world, first, other["id"])


async def _exchange(world: ProxyWorld, pieces: list[bytes]) -> tuple[int, bytes]:
    """Write ``pieces`` one after the other on one connection; the answer's status and body."""
    host, port = world.proxy_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        for piece in pieces:
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0.05)  # separate reads on the server (not a timing assertion)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), WAIT)
        status = int(head.split(b" ", 2)[1])
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        return status, await asyncio.wait_for(reader.readexactly(length), WAIT)
    finally:
        writer.close()


def _chunked_with_trailers(setup: Setup) -> tuple[bytes, bytes]:
    """A chunked POST's head, and its body followed by a trailer section naming the project's
    other installation and an extra header."""
    headers = setup.first.proxy_headers()
    lines = ["POST /trailers HTTP/1.1", "Host: passway.test", "Transfer-Encoding: chunked"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    body = (
        b"5\r\nhello\r\n0\r\n"
        + f"x-amp-installation-id: {setup.other_installation}\r\n".encode()
        + b"X-Injected: yes\r\n\r\n"
    )
    return head, body


@pytest.mark.parametrize("split", [False, True], ids=["one-write", "head-then-body"])
async def test_request_trailers_are_neither_proxy_headers_nor_forwarded(
    setup: Setup, split: bool
) -> None:
    """Trailers naming another installation of the same project and an extra header: the call
    goes to the installation its head names, with that installation's credential, and the
    provider sees neither trailer as a header (nor the body's trailers at all)."""
    world = setup.world
    world.upstream.clear()
    head, body = _chunked_with_trailers(setup)
    status, answer = await _exchange(world, [head, body] if split else [head + body])
    assert status == 200, answer
    recorded = world.upstream.requests[-1]
    assert recorded.body == b"hello"
    assert recorded.header("authorization") == f"Bearer {SECRET}"
    assert "x-injected" not in recorded.header_names()
    assert "x-amp-installation-id" not in recorded.header_names()
    echoed = json.loads(answer)
    assert all(name.lower() != "x-injected" for name, _ in echoed["headers"])


# every port's protections ------------------------------------------------------------------------
# The ports ``passway serve`` can open: the main port serving everything ("main"), the main port
# next to an admin port ("proxy-only") and that admin port ("admin"), the deprecated proxy port.
PORTS = ("main", "proxy-only", "admin", "listener")
HEADER_TIMEOUT = 1.0


@dataclass
class Port:
    name: str
    world: ProxyWorld
    setup: SeededSetup
    url: str
    proxy: bool  # serves proxy calls
    management: bool  # serves the management API


@pytest_asyncio.fixture(loop_scope="module", scope="module", params=PORTS)
async def port(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Port]:
    """Each port with a short header timeout and a long keep-alive (so that only the header
    timeout can close a connection whose head trickles in)."""
    name = request.param
    front_door = {"main": "passway", "listener": "listener"}.get(name, "admin")
    async with proxy_world(
        tmp_path_factory.mktemp(f"port-{name}"),
        front_door=front_door,  # type: ignore[arg-type]
        header_timeout=HEADER_TIMEOUT,
        keep_alive_timeout=60.0,
    ) as world:
        setup = await seed_proxy_setup(
            world.client, ADMIN_KEY, provider=tc.APIKEY_BEARER, credential={"apiKey": SECRET}
        )
        if name == "admin":
            yield Port(name, world, setup, world.url, proxy=False, management=True)
        else:
            yield Port(name, world, setup, world.proxy_url, proxy=True, management=name == "main")


def _post_head(port: Port, extra: dict[str, str]) -> bytes:
    """A POST's head for this port: a proxy call where it serves them, else a management call."""
    if port.proxy:
        headers = {**port.setup.proxy_headers(), **extra}
        return raw_request("POST", "/upload", headers)
    headers = {"X-Api-Key": ADMIN_KEY, "Content-Type": "application/json", **extra}
    return raw_request("POST", "/v1/projects", headers)


def assert_problem(answer: RawResponse, status: int, code: str) -> None:
    assert answer.status == status, answer
    assert answer.header("content-type") == "application/problem+json"
    assert answer.header("x-passway-error") == code
    assert answer.json()["code"] == code


async def test_a_request_head_over_64_kib_is_a_431_problem_then_the_connection_closes(
    port: Port,
) -> None:
    before = len(port.world.upstream.requests)
    async with open_wire(port.url) as conn:
        head = raw_request("GET", "/huge", port.setup.proxy_headers())
        await conn.send(head[:-2] + b"X-Big: " + b"a" * 60_000)
        await asyncio.sleep(0.2)  # two reads on the server side (not a timing assertion)
        await conn.send(b"b" * 6_000 + b"\r\n\r\n")
        answer = await conn.read_response()
        assert_problem(answer, 431, "request_head_too_large")
        assert answer.header("connection") == "close"
        assert await conn.closed_by_server()
    assert len(port.world.upstream.requests) == before


async def test_a_head_trickling_in_is_closed_after_the_header_timeout(port: Port) -> None:
    """One header byte at a time, each well within any idle limit: the connection is closed once
    the head has taken longer than the header timeout (the keep-alive timeout here is 60 s, far
    beyond this test's wait)."""
    async with open_wire(port.url) as conn:
        await conn.send(b"GET /healthz HTTP/1.1\r\nHost: passway.test\r\nX-Slow: ")

        async def trickle() -> None:
            with contextlib.suppress(ConnectionError):
                while True:
                    await asyncio.sleep(HEADER_TIMEOUT / 5)
                    await conn.send(b"a")

        trickling = asyncio.create_task(trickle())
        try:
            assert await conn.closed_by_server()
        finally:
            trickling.cancel()


MALFORMED_BODIES = {
    "size-overflow": b"fffffffffffffffffff\r\nabc\r\n0\r\n\r\n",
    "negative-size": b"-1\r\nabc\r\n0\r\n\r\n",
    "bare-lf": b"3\nabc\n0\n\n",
    "too-much-data": b"3\r\nabcdefgh\r\n0\r\n\r\n",
}


@pytest.mark.parametrize("split", [False, True], ids=["one-write", "body-later"])
@pytest.mark.parametrize("body", list(MALFORMED_BODIES))
async def test_a_malformed_chunked_body_is_a_400_problem_then_the_connection_closes(
    port: Port, body: str, split: bool
) -> None:
    """Whether the broken framing arrives with the head or after the call began: the answer is a
    400 ``invalid_request`` problem, and the connection closes."""
    head = _post_head(port, {"Transfer-Encoding": "chunked"})
    async with open_wire(port.url) as conn:
        if split:
            await conn.send(head)
            await asyncio.sleep(0.1)  # the call starts before its body (not a timing assertion)
            await conn.send(MALFORMED_BODIES[body])
        else:
            await conn.send(head + MALFORMED_BODIES[body])
        answer = await conn.read_response()
        assert_problem(answer, 400, "invalid_request")
        assert answer.header("connection") == "close"
        assert await conn.closed_by_server()


async def test_a_method_a_management_route_does_not_take_is_405_with_allow(port: Port) -> None:
    if not port.management:
        pytest.skip("this port does not serve the management API")
    async with httpx.AsyncClient(base_url=port.url) as client:
        answer = await client.put("/v1/projects", headers={"X-Api-Key": ADMIN_KEY})
    assert answer.status_code == 405
    assert answer.headers["x-passway-error"] == "method_not_allowed"
    assert set(answer.headers["allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


async def test_an_amp_yaml_over_the_size_limit_is_413(port: Port) -> None:
    if not port.management:
        pytest.skip("this port does not serve the management API")
    setup = port.setup
    source = amp_yaml("big", tc.APIKEY_BEARER) + "# " + "x" * (1024 * 1024) + "\n"
    async with httpx.AsyncClient(base_url=port.url) as client:
        answer = await client.put(
            f"/v1/projects/{setup.project_id}/integrations:batch",
            json={"sourceYaml": source},
            headers={"X-Api-Key": setup.api_key},
        )
    assert answer.status_code == 413
    assert answer.headers["x-passway-error"] == "payload_too_large"


async def test_each_port_serves_what_it_is_for(port: Port) -> None:
    """A proxy call is proxied where the port serves them; the management API answers only where
    it is served (a proxy-only port refuses it as a proxy call missing its headers)."""
    async with httpx.AsyncClient(base_url=port.url) as client:
        health = await client.get("/healthz")
        listing = await client.get("/v1/projects", headers={"X-Api-Key": ADMIN_KEY})
        before = len(port.world.upstream.requests)
        called = await client.get("/served", headers=port.setup.proxy_headers())
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    if port.management:
        assert listing.status_code == 200
    else:
        assert listing.status_code == 400
        assert listing.headers["x-passway-error"] in (
            "missing_headers",
            "unsupported_proxy_version",
        )
    if port.proxy:
        assert called.status_code == 200 and called.json()["path"] == "/served"
    else:
        assert called.headers.get("x-passway-error") is not None
        assert len(port.world.upstream.requests) == before


async def test_each_request_on_a_connection_is_routed_by_its_own_headers(port: Port) -> None:
    """On one keep-alive connection, a proxy call is proxied whatever its path (``/healthz``
    included), and the requests around it without proxy headers are not: the route is decided
    per request, never carried over from the one before."""
    if not port.proxy:
        pytest.skip("this port does not serve proxy calls")
    async with httpx.AsyncClient(base_url=port.url) as client:
        before = len(port.world.upstream.requests)
        health_first = await client.get("/healthz")
        proxied = await client.get("/healthz", headers=port.setup.proxy_headers())
        health_after = await client.get("/healthz")
        listing = await client.get("/v1/projects", headers={"X-Api-Key": ADMIN_KEY})
    assert health_first.json() == health_after.json() == {"status": "ok"}
    assert proxied.status_code == 200 and proxied.json()["path"] == "/healthz"
    assert len(port.world.upstream.requests) == before + 1
    assert listing.status_code == (200 if port.management else 400)


@pytest.mark.parametrize("front_door", ["passway", "admin"])
async def test_idle_keep_alive_connections_are_closed(
    tmp_path_factory: pytest.TempPathFactory, front_door: str
) -> None:
    """With ``keep_alive_timeout=0.5``, a connection idle after an answer and one that never
    sends anything are closed, on the main port and on the admin port."""
    async with proxy_world(
        tmp_path_factory.mktemp("idle"),
        front_door=front_door,  # type: ignore[arg-type]
        keep_alive_timeout=0.5,
    ) as world:
        for url in {world.url, world.proxy_url}:
            async with open_wire(url) as after_answer, open_wire(url) as silent:
                await after_answer.send(raw_request("GET", "/healthz", {}))
                assert (await after_answer.read_response()).json() == {"status": "ok"}
                for conn in (after_answer, silent):
                    assert await conn.closed_by_server()
