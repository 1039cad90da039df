"""The proxy is a faithful pipe: statuses, headers and bodies pass unchanged in both directions,
streamed as they come, and a broken or abandoned exchange is never turned into a clean one."""

from __future__ import annotations

import asyncio
import gzip
import itertools
import json
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiohttp import web

from support import catalog as tc
from support.seed import SeededSetup, seed_proxy_setup
from support.server import ADMIN_KEY, FRONT_DOORS, ProxyWorld, proxy_world
from support.upstream import client_leaves, reset_mid_body_handler

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module", params=FRONT_DOORS)
async def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ProxyWorld]:
    """Passway with proxy calls going through each front door: uvicorn, then the proxy listener."""
    async with proxy_world(tmp_path_factory.mktemp("fidelity"), front_door=request.param) as w:
        yield w


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def setup(world: ProxyWorld) -> SeededSetup:
    return await seed_proxy_setup(
        world.client, ADMIN_KEY, provider=tc.APIKEY_BEARER, credential={"apiKey": "k"}
    )


async def raw_exchange(world: ProxyWorld, head: bytes) -> tuple[asyncio.StreamReader, Any]:
    host, port = world.proxy_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(head)
    await writer.drain()
    return reader, writer


def request_head(setup: SeededSetup, method: str, path: str, *extra: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: passway.test"]
    lines += [f"{k}: {v}" for k, v in setup.proxy_headers().items()]
    lines += list(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# statuses and headers ---------------------------------------------------------------------------
@pytest.mark.parametrize("status", [200, 201, 202, 204, 206, 301, 302, 304, 400, 404, 500, 503])
async def test_status_and_body_pass_unchanged(
    world: ProxyWorld, setup: SeededSetup, status: int
) -> None:
    body = b"" if status in (204, 304) else f"body of {status}".encode()

    async def answer(request: web.Request) -> web.StreamResponse:
        response = web.Response(status=status, body=body or None)
        if status in (301, 302):
            response.headers["Location"] = "https://elsewhere.example/next"
        if status == 206:
            response.headers["Content-Range"] = f"bytes 0-{len(body) - 1}/100"
        return response

    world.upstream.set_handler("GET", f"/status/{status}", answer)
    before = len(world.upstream.requests)
    response = await world.proxy_client.get(f"/status/{status}", headers=setup.proxy_headers())
    assert response.status_code == status
    assert response.content == body
    assert "x-passway-error" not in response.headers
    assert len(world.upstream.requests) == before + 1  # redirects are not followed
    if status in (301, 302):
        assert response.headers["location"] == "https://elsewhere.example/next"


async def test_repeated_set_cookie_and_end_to_end_headers_are_relayed(
    world: ProxyWorld, setup: SeededSetup
) -> None:
    async def cookies(request: web.Request) -> web.StreamResponse:
        response = web.Response(text="ok")
        response.headers.add("Set-Cookie", "a=1; Path=/")
        response.headers.add("Set-Cookie", "b=2; HttpOnly")
        response.headers.add("X-Multi", "one")
        response.headers.add("X-Multi", "two")
        response.headers["Connection"] = "X-Hop"
        response.headers["X-Hop"] = "hidden"
        return response

    world.upstream.set_handler("GET", "/cookies", cookies)
    response = await world.proxy_client.get("/cookies", headers=setup.proxy_headers())
    assert response.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2; HttpOnly"]
    assert response.headers.get_list("x-multi") == ["one", "two"]
    assert "x-hop" not in response.headers


async def test_gzip_body_passes_untouched_with_its_content_length(
    world: ProxyWorld, setup: SeededSetup
) -> None:
    compressed = gzip.compress(json.dumps({"n": list(range(2000))}).encode())

    async def gzipped(request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=compressed,
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )

    world.upstream.set_handler("GET", "/gz", gzipped)
    headers = {**setup.proxy_headers(), "accept-encoding": "gzip"}
    async with world.proxy_client.stream("GET", "/gz", headers=headers) as response:
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["content-length"] == str(len(compressed))
    assert raw == compressed
    assert world.upstream.requests[-1].header("accept-encoding") == "gzip"


async def test_head_answers_headers_without_a_body(world: ProxyWorld, setup: SeededSetup) -> None:
    async def head(request: web.Request) -> web.StreamResponse:
        return web.Response(headers={"Content-Length": "1234", "X-Head": "yes"})

    world.upstream.set_handler("HEAD", "/head", head)
    response = await world.proxy_client.head("/head", headers=setup.proxy_headers())
    assert response.status_code == 200
    assert response.headers["content-length"] == "1234"
    assert response.headers["x-head"] == "yes"
    assert response.content == b""
    assert world.upstream.requests[-1].method == "HEAD"


# request bodies ---------------------------------------------------------------------------------
async def _echo_raw(request: web.Request) -> web.StreamResponse:
    body = await request.read()
    return web.Response(body=body, content_type="application/octet-stream")


@pytest.mark.parametrize("size", [0, 1, 300_000, 3_000_000])
async def test_binary_body_round_trips_with_its_content_length(
    world: ProxyWorld, setup: SeededSetup, size: int
) -> None:
    world.upstream.set_handler("PUT", "/echo", _echo_raw)
    payload = os.urandom(size)
    response = await world.proxy_client.put(
        "/echo",
        content=payload,
        headers={**setup.proxy_headers(), "content-type": "application/octet-stream"},
    )
    assert response.status_code == 200
    assert response.content == payload
    seen = world.upstream.requests[-1]
    assert seen.header("content-length") == str(size)
    assert seen.header("transfer-encoding") is None
    assert seen.header("content-type") == "application/octet-stream"


async def test_chunked_upload_of_unknown_length_is_streamed_whole(
    world: ProxyWorld, setup: SeededSetup
) -> None:
    world.upstream.set_handler("POST", "/echo", _echo_raw)
    pieces = [os.urandom(50_000) for _ in range(8)]

    async def generate() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece
            await asyncio.sleep(0)

    response = await world.proxy_client.post(
        "/echo", content=generate(), headers=setup.proxy_headers()
    )
    assert response.content == b"".join(pieces)
    assert world.upstream.requests[-1].header("transfer-encoding") == "chunked"


async def test_multipart_upload_arrives_intact(world: ProxyWorld, setup: SeededSetup) -> None:
    async def parse(request: web.Request) -> web.StreamResponse:
        form = await request.post()
        upload = form["file"]
        assert isinstance(upload, web.FileField)
        return web.json_response(
            {
                "note": form["note"],
                "filename": upload.filename,
                "size": len(upload.file.read()),
            }
        )

    world.upstream.set_handler("POST", "/upload", parse, read_body=False)
    blob = os.urandom(200_000)
    response = await world.proxy_client.post(
        "/upload",
        data={"note": "héllo"},
        files={"file": ("report.bin", blob, "application/octet-stream")},
        headers=setup.proxy_headers(),
    )
    assert response.json() == {"note": "héllo", "filename": "report.bin", "size": len(blob)}


async def test_expect_100_continue_gets_continue_then_the_answer(
    world: ProxyWorld, setup: SeededSetup
) -> None:
    world.upstream.set_handler("POST", "/echo", _echo_raw)
    body = b"x" * 5000
    head = request_head(
        setup, "POST", "/echo", f"Content-Length: {len(body)}", "Expect: 100-continue"
    )
    reader, writer = await raw_exchange(world, head)
    try:
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 15)
        assert interim.startswith(b"HTTP/1.1 100")
        writer.write(body)
        await writer.drain()
        final = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 15)
        assert final.startswith(b"HTTP/1.1 200")
        received = await asyncio.wait_for(reader.readexactly(len(body)), 15)
        assert received == body
        assert world.upstream.requests[-1].header("expect") is None
    finally:
        writer.close()


# streaming -------------------------------------------------------------------------------------
async def test_server_sent_events_arrive_one_by_one(world: ProxyWorld, setup: SeededSetup) -> None:
    async def events(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for n in range(4):
            await response.write(f"data: event {n}\n\n".encode())
            await asyncio.sleep(0.3)
        await response.write_eof()
        return response

    world.upstream.set_handler("GET", "/events", events)
    arrivals: list[tuple[float, bytes]] = []
    async with world.proxy_client.stream(
        "GET", "/events", headers=setup.proxy_headers()
    ) as response:
        assert response.headers["content-type"] == "text/event-stream"
        async for chunk in response.aiter_raw():
            arrivals.append((time.monotonic(), chunk))
    assert [chunk for _, chunk in arrivals] == [f"data: event {n}\n\n".encode() for n in range(4)]
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(arrivals)]
    assert all(gap > 0.15 for gap in gaps), gaps


async def test_slow_client_stalls_the_upstream_writes(
    world: ProxyWorld, setup: SeededSetup
) -> None:
    written = {"bytes": 0, "done": False}
    chunk = b"z" * 65536
    total = 512 * 1024 * 1024

    async def flood(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": str(total)})
        await response.prepare(request)
        try:
            while written["bytes"] < total:
                await response.write(chunk)
                written["bytes"] += len(chunk)
        except (ConnectionError, RuntimeError):
            pass
        written["done"] = True
        return response

    world.upstream.set_handler("GET", "/flood", flood)
    reader, writer = await raw_exchange(world, request_head(setup, "GET", "/flood"))
    try:
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 15)
        await asyncio.sleep(1.0)
        stalled_at = written["bytes"]
        await asyncio.sleep(0.5)
        assert written["bytes"] == stalled_at  # nothing more: the upstream is held back
        assert stalled_at < 64 * 1024 * 1024
        await reader.readexactly(8 * 1024 * 1024)  # reading lets it go on
        await asyncio.sleep(0.2)
        assert written["bytes"] > stalled_at
    finally:
        writer.close()
    for _ in range(50):
        if written["done"]:
            break
        await asyncio.sleep(0.1)
    assert written["done"] and written["bytes"] < total  # the upstream saw the client go away


async def test_client_disconnect_while_waiting_closes_the_upstream_connection(
    world: ProxyWorld, setup: SeededSetup
) -> None:
    seen_closed = asyncio.Event()

    async def hang(request: web.Request) -> web.StreamResponse:
        if await client_leaves(request, 5):
            seen_closed.set()
        return web.Response(text="too late")

    world.upstream.set_handler("GET", "/hang", hang)
    world.upstream.request_arrived.clear()
    _reader, writer = await raw_exchange(world, request_head(setup, "GET", "/hang"))
    await world.upstream.request_arrived.wait()
    await asyncio.sleep(0.2)
    writer.close()
    await asyncio.wait_for(seen_closed.wait(), 15)


async def test_client_disconnect_mid_stream_stops_the_upstream(
    world: ProxyWorld, setup: SeededSetup
) -> None:
    stopped = asyncio.Event()

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        try:
            for _ in range(200):
                await response.write(b"data: tick\n\n")
                await asyncio.sleep(0.02)
        except (ConnectionError, RuntimeError):
            stopped.set()
        return response

    world.upstream.set_handler("GET", "/endless", endless)
    reader, writer = await raw_exchange(world, request_head(setup, "GET", "/endless"))
    await asyncio.wait_for(reader.readuntil(b"data: tick"), 15)
    writer.close()
    await asyncio.wait_for(stopped.wait(), 15)


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_upstream_reset_mid_body_is_an_error_for_the_client(
    world: ProxyWorld, setup: SeededSetup, framing: str
) -> None:

    world.upstream.set_handler("GET", "/broken", reset_mid_body_handler(framing))
    with pytest.raises(httpx.HTTPError):
        async with world.proxy_client.stream("GET", "/broken", headers=setup.proxy_headers()) as r:
            async for _ in r.aiter_raw():
                pass


async def test_query_and_raw_path_pass_byte_for_byte(world: ProxyWorld, setup: SeededSetup) -> None:
    path = "/v1/a%20b/c%2Fd;x=1?q=%E2%9C%93&q=2&empty=&flag"
    reader, writer = await raw_exchange(world, request_head(setup, "GET", path))
    try:
        status = await asyncio.wait_for(reader.readuntil(b"\r\n"), 15)
        assert status.startswith(b"HTTP/1.1 200")
    finally:
        writer.close()
    seen = world.upstream.requests[-1]
    assert seen.target == path


async def test_upstream_connections_are_reused_between_calls(
    world: ProxyWorld, setup: SeededSetup
) -> None:
    world.upstream.clear()
    for _ in range(20):
        response = await world.proxy_client.get("/reuse", headers=setup.proxy_headers())
        assert response.status_code == 200
    peers = {r.extra["peer"] for r in world.upstream.requests}
    assert len(peers) == 1, peers


async def test_not_modified_with_a_representation_length_is_relayed(
    world: ProxyWorld, setup: SeededSetup, caplog: pytest.LogCaptureFixture
) -> None:
    async def not_modified(request: web.Request) -> web.StreamResponse:
        # Written raw: aiohttp's server would drop the Content-Length a 304 may carry.
        assert request.transport is not None
        request.transport.write(
            b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 10\r\n'
            b"Connection: close\r\n\r\n"
        )
        await asyncio.sleep(0.3)
        request.transport.close()
        return web.Response()

    world.upstream.set_handler("GET", "/cached", not_modified)
    headers = {**setup.proxy_headers(), "if-none-match": '"v1"'}
    with caplog.at_level("ERROR"):
        response = await world.proxy_client.get("/cached", headers=headers)
    assert response.status_code == 304
    assert response.headers["etag"] == '"v1"'
    assert response.content == b""
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text


async def test_client_disconnect_mid_upload_stops_the_upstream_request(
    world: ProxyWorld, setup: SeededSetup
) -> None:
    broken = asyncio.Event()
    received = {"bytes": 0}

    async def sink(request: web.Request) -> web.StreamResponse:
        try:
            while chunk := await request.content.readany():
                received["bytes"] += len(chunk)
        except Exception:
            broken.set()
            raise
        return web.Response(text="complete?")

    world.upstream.set_handler("PUT", "/sink", sink, read_body=False)
    total = 50 * 1024 * 1024
    head = request_head(setup, "PUT", "/sink", f"Content-Length: {total}")
    _reader, writer = await raw_exchange(world, head)
    writer.write(b"u" * (2 * 1024 * 1024))
    await writer.drain()
    for _ in range(50):
        if received["bytes"]:
            break
        await asyncio.sleep(0.05)
    writer.close()
    await asyncio.wait_for(broken.wait(), 15)
    assert 0 < received["bytes"] < total
