"""What every port Passway opens promises, on the wire, through each front door: a chunked
request's trailers are never read as proxy headers nor forwarded upstream.

Requests are written as raw bytes on a socket; the provider is a recording loopback upstream.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio

from support import catalog as tc
from support.seed import SeededSetup, create_connection, create_installation, seed_proxy_setup
from support.server import ADMIN_KEY, FRONT_DOORS, ProxyWorld, proxy_world

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
