"""The proxy listener's own HTTP/1.1 behaviour, on the wire: keep-alive, pipelining, HTTP/1.0,
request bodies, ``Expect: 100-continue``, malformed and oversized requests, health checks, broken
exchanges, idle connections, shut-down and the access log.

Requests are written as raw bytes on a socket (``asyncio.open_connection``) wherever a client
library would hide what happens on the connection; the provider is a recording loopback upstream.
The suites shared with uvicorn (fidelity, errors, hijack) run through the listener as well; this
file holds what only the listener's own protocol code decides.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiohttp import web

from passway.asgi_types import DirectApp
from passway.http1.server.shared import ConnectionSettings
from support import catalog as tc
from support.seed import SeededSetup, seed_proxy_setup
from support.server import ADMIN_KEY, ProxyWorld, proxy_world
from support.upstream import client_leaves, reset_mid_body_handler
from support.wire import WAIT, RawResponse, Wire, open_wire

pytestmark = pytest.mark.asyncio(loop_scope="module")

SECRET = "k-listener-credential-7f3a9c"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ProxyWorld]:
    async with proxy_world(tmp_path_factory.mktemp("listener"), front_door="listener") as w:
        yield w


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def setup(world: ProxyWorld) -> SeededSetup:
    return await seed_proxy_setup(
        world.client, ADMIN_KEY, provider=tc.APIKEY_BEARER, credential={"apiKey": SECRET}
    )


# the wire ---------------------------------------------------------------------------------------
@contextlib.asynccontextmanager
async def wire(world: ProxyWorld) -> AsyncIterator[Wire]:
    async with open_wire(world.proxy_url) as connection:
        yield connection


def request(
    setup: SeededSetup | None,
    method: str,
    path: str,
    *extra: str,
    body: bytes = b"",
    version: str = "1.1",
) -> bytes:
    """A request's bytes: request line, Host, the proxy headers (when ``setup``), ``extra``."""
    lines = [f"{method} {path} HTTP/{version}", "Host: passway.test"]
    if setup is not None:
        lines += [f"{k}: {v}" for k, v in setup.proxy_headers().items()]
    lines += list(extra)
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _echo_raw(request: web.Request) -> web.StreamResponse:
    body = await request.read()
    return web.Response(body=body, content_type="application/octet-stream")


async def _streamed(request: web.Request) -> web.StreamResponse:
    """Three pieces without a Content-Length (chunked on the provider's side)."""
    response = web.StreamResponse(headers={"Content-Type": "text/plain"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    for n in range(3):
        await response.write(f"piece {n};".encode())
        await asyncio.sleep(0.01)
    await response.write_eof()
    return response


STREAMED = b"piece 0;piece 1;piece 2;"


def assert_problem(response: RawResponse, status: int, code: str) -> dict[str, Any]:
    assert response.status == status, response
    assert response.header("content-type") == "application/problem+json"
    assert response.header("x-passway-error") == code
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["code"] == code
    assert body["subsystem"] == "proxy"
    return body


# keep-alive and pipelining ----------------------------------------------------------------------
async def test_keep_alive_serves_requests_of_every_framing_on_one_connection(
    world: ProxyWorld, setup: SeededSetup
) -> None:
    """JSON with a length, HEAD, 204, a chunked stream and an upload follow one another on one
    connection: each answer is framed exactly, so the next one is read cleanly."""

    async def head(request: web.Request) -> web.StreamResponse:
        return web.Response(headers={"Content-Length": "1234", "X-Head": "yes"})

    async def no_content(request: web.Request) -> web.StreamResponse:
        return web.Response(status=204)

    world.upstream.set_handler("HEAD", "/ka/head", head)
    world.upstream.set_handler("GET", "/ka/empty", no_content)
    world.upstream.set_handler("GET", "/ka/stream", _streamed)
    world.upstream.set_handler("POST", "/ka/echo", _echo_raw)
    async with wire(world) as conn:
        await conn.send(request(setup, "GET", "/ka/json?n=1"))
        first = await conn.read_response()
        assert first.status == 200 and first.json()["query"] == "n=1"

        await conn.send(request(setup, "HEAD", "/ka/head"))
        headed = await conn.read_response(method="HEAD")
        assert headed.status == 200 and headed.header("content-length") == "1234"
        assert headed.header("x-head") == "yes"

        await conn.send(request(setup, "GET", "/ka/empty"))
        assert (await conn.read_response()).status == 204

        await conn.send(request(setup, "GET", "/ka/stream"))
        streamed = await conn.read_response()
        assert streamed.header("transfer-encoding") == "chunked"
        assert streamed.body == STREAMED

        payload = os.urandom(20_000)
        await conn.send(request(setup, "POST", "/ka/echo", body=payload))
        echoed = await conn.read_response()
        assert echoed.body == payload

        await conn.send(request(setup, "GET", "/ka/json?n=2"))
        last = await conn.read_response()
        assert last.json()["query"] == "n=2"
        for answer in (first, headed, streamed, echoed, last):
            assert answer.header("connection") is None  # the connection stays open


async def test_pipelined_requests_are_answered_in_order_and_complete(
    world: ProxyWorld, setup: SeededSetup
) -> None:
    """Three requests in one write; the first one's provider is the slowest."""

    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.3)
        return web.Response(text="first, after a while")

    world.upstream.set_handler("GET", "/pipe/slow", slow)
    world.upstream.set_handler("POST", "/pipe/echo", _echo_raw)
    world.upstream.set_handler("GET", "/pipe/stream", _streamed)
    payload = b"second request's body"
    async with wire(world) as conn:
        await conn.send(
            request(setup, "GET", "/pipe/slow")
            + request(setup, "POST", "/pipe/echo", body=payload)
            + request(setup, "GET", "/pipe/stream")
        )
        answers = [await conn.read_response() for _ in range(3)]
        assert [a.status for a in answers] == [200, 200, 200]
        assert answers[0].body == b"first, after a while"
        assert answers[1].body == payload
        assert answers[2].body == STREAMED
        await conn.send(request(setup, "GET", "/pipe/after"))
        assert (await conn.read_response()).json()["path"] == "/pipe/after"


async def test_pipelined_request_behind_a_large_upload_waits_its_turn(
    world: ProxyWorld, setup: SeededSetup
) -> None:
    """An upload larger than the listener's body buffer (it stops reading the socket meanwhile)
    and a request written right behind it are both answered, in order."""
    world.upstream.set_handler("PUT", "/pipe/big", _echo_raw)
    payload = os.urandom(700_000)
    async with wire(world) as conn:
        await conn.send(
            request(setup, "PUT", "/pipe/big", body=payload) + request(setup, "GET", "/pipe/behind")
        )
        big = await conn.read_response()
        assert big.status == 200 and big.body == payload
        behind = await conn.read_response()
        assert behind.json()["path"] == "/pipe/behind"


async def test_a_body_in_several_reads_then_a_pipelined_request_in_the_same_read(
    world: ProxyWorld, setup: SeededSetup
) -> None:
    """A Content-Length body whose head came in an earlier read is taken past the parser: it
    arrives byte for byte whatever the reads (one byte among them), and a request that follows
    the body's last bytes in the same read is parsed and answered after it."""
    world.upstream.set_handler("PUT", "/split/echo", _echo_raw)
    payload = os.urandom(200_000)
    whole = request(setup, "PUT", "/split/echo", body=payload)
    body_at = len(whole) - len(payload)
    cuts = [0, body_at + 10, body_at + 1000, body_at + 1001, body_at + 50_000, body_at + 50_001]
    pieces = [whole[a:b] for a, b in itertools.pairwise(cuts)]
    async with wire(world) as conn:
        for piece in pieces:
            await conn.send(piece)
            await asyncio.sleep(0.03)  # each its own read
        # The rest of the body and the next request right behind it, in one write.
        await conn.send(whole[cuts[-1] :] + request(setup, "GET", "/split/next"))
        echoed = await conn.read_response()
        assert echoed.status == 200 and echoed.body == payload
        assert (await conn.read_response()).json()["path"] == "/split/next"
        await conn.send(request(setup, "GET", "/split/again"))
        assert (await conn.read_response()).json()["path"] == "/split/again"


async def test_bytes_after_a_closing_request_with_a_body_in_several_reads_are_not_processed(
    world: ProxyWorld, setup: SeededSetup
) -> None:
    """``Connection: close`` on a request whose body comes in later reads: it is answered, the
    request sent in the same read as the body's end is not, and the connection ends."""
    world.upstream.set_handler("PUT", "/split/last", _echo_raw)
    payload = os.urandom(5_000)
    whole = request(setup, "PUT", "/split/last", "Connection: close", body=payload)
    body_at = len(whole) - len(payload)
    before = len(world.upstream.requests)
    async with wire(world) as conn:
        await conn.send(whole[: body_at + 100])
        await asyncio.sleep(0.05)
        await conn.send(whole[body_at + 100 :] + request(setup, "GET", "/split/never"))
        answer = await conn.read_response()
        assert answer.status == 200 and answer.body == payload
        assert answer.header("connection") == "close"
        assert await conn.closed_by_server()
    assert [r.raw_path for r in world.upstream.requests[before:]] == ["/split/last"]


async def test_request_asking_to_close_is_the_last_one_answered(
    world: ProxyWorld, setup: SeededSetup
) -> None:
    """A request with ``Connection: close`` is answered with ``connection: close``; a request
    pipelined behind it is not answered, the connection ends."""
    before = len(world.upstream.requests)
    async with wire(world) as conn:
        await conn.send(
            request(setup, "GET", "/bye", "Connection: close")
            + request(setup, "GET", "/never-answered")
        )
        answer = await conn.read_response()
        assert answer.status == 200 and answer.header("connection") == "close"
        assert await conn.closed_by_server()
    assert [r.raw_path for r in world.upstream.requests[before:]] == ["/bye"]


# HTTP/1.0 ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("framing", ["content-length", "close-delimited"])
async def test_http10_request_gets_its_answer_then_the_connection_closes(
    world: ProxyWorld, setup: SeededSetup, framing: str
) -> None:
    """An HTTP/1.0 client (no keep-alive) gets the provider's Content-Length answer as it is, or
    a stream of unknown length delimited by the end of the connection (never chunked)."""
    path = "/ten/json" if framing == "content-length" else "/ten/stream"
    world.upstream.set_handler("GET", "/ten/stream", _streamed)
    async with wire(world) as conn:
        await conn.send(request(setup, "GET", path, version="1.0"))
        status, headers = await conn.read_head()
        answer = RawResponse(status, headers, await conn.read_to_end())
    assert answer.status == 200
    assert answer.header("transfer-encoding") is None
    assert answer.header("connection") == "close"
    if framing == "content-length":
        assert answer.header("content-length") == str(len(answer.body))
        assert answer.json()["path"] == "/ten/json"
    else:
        assert answer.header("content-length") is None
        assert answer.body == STREAMED


async def test_http10_keep_alive_request_keeps_the_connection(
    world: ProxyWorld, setup: SeededSetup
) -> None:
    async with wire(world) as conn:
        for n in range(2):
            await conn.send(
                request(setup, "GET", f"/ten/ka/{n}", "Connection: keep-alive", version="1.0")
            )
            answer = await conn.read_response()
            assert answer.header("connection") == "keep-alive"
            assert answer.json()["path"] == f"/ten/ka/{n}"


# request bodies ---------------------------------------------------------------------------------
async def test_chunked_request_body_is_relayed_whole(world: ProxyWorld, setup: SeededSetup) -> None:
    """A chunked upload written piece by piece (with a chunk extension and a trailer) reaches the
    provider whole."""
    world.upstream.set_handler("POST", "/chunked", _echo_raw)
    pieces = [os.urandom(size) for size in (1, 4096, 100_000, 7)]
    async with wire(world) as conn:
        await conn.send(request(setup, "POST", "/chunked", "Transfer-Encoding: chunked"))
        for n, piece in enumerate(pieces):
            extension = b";note=x" if n == 1 else b""
            await conn.send(b"%x%s\r\n%s\r\n" % (len(piece), extension, piece))
            await asyncio.sleep(0.02)
        await conn.send(b"0\r\nX-Trailer: t\r\n\r\n")
        answer = await conn.read_response()
        assert answer.status == 200
        assert answer.body == b"".join(pieces)
        await conn.send(request(setup, "GET", "/chunked/next"))
        assert (await conn.read_response()).json()["path"] == "/chunked/next"


async def test_expect_100_continue_comes_before_the_body_is_sent(
    world: ProxyWorld, setup: SeededSetup
) -> None:
    world.upstream.set_handler("PUT", "/continue", _echo_raw)
    body = os.urandom(300_000)  # above the replay buffer: streamed to the provider
    before = len(world.upstream.requests)
    async with wire(world) as conn:
        head = request(
            setup, "PUT", "/continue", "Expect: 100-continue", f"Content-Length: {len(body)}"
        )
        await conn.send(head)
        interim = await asyncio.wait_for(conn.reader.readuntil(b"\r\n\r\n"), WAIT)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        await conn.send(body)
        answer = await conn.read_response()
        assert answer.status == 200 and answer.body == body
    [seen] = world.upstream.requests[before:]
    assert seen.header("expect") is None


async def test_expect_100_continue_refused_call_is_answered_without_continue(
    world: ProxyWorld, setup: SeededSetup
) -> None:
    """A call refused before its body is wanted (unknown API key) gets its final answer at once,
    without ``100 Continue``, and the connection ends (the unsent body cannot follow)."""
    headers = {**setup.proxy_headers(), "x-api-key": "pw_" + "a" * 12 + "_" + "b" * 40}
    lines = ["POST /refused HTTP/1.1", "Host: passway.test", "Expect: 100-continue"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append("Content-Length: 100000")
    async with wire(world) as conn:
        await conn.send(("\r\n".join(lines) + "\r\n\r\n").encode())
        answer = await conn.read_response()
        assert_problem(answer, 401, "unauthenticated")
        assert answer.header("connection") == "close"
        assert await conn.closed_by_server()


# requests the listener refuses ------------------------------------------------------------------
async def test_invalid_request_line_is_a_400_problem_then_the_connection_closes(
    world: ProxyWorld,
) -> None:
    async with wire(world) as conn:
        await conn.send(b"THIS IS NOT HTTP\r\n\r\n")
        answer = await conn.read_response()
        assert_problem(answer, 400, "invalid_request")
        assert answer.header("connection") == "close"
        assert await conn.closed_by_server()


@pytest.mark.parametrize("ending", ["completed-in-the-crossing-read", "never-completed"])
async def test_request_head_over_64_kib_is_a_431_problem_then_the_connection_closes(
    world: ProxyWorld, setup: SeededSetup, ending: str
) -> None:
    """Whether the read that takes the head past 64 KiB also ends it, or the head never ends,
    the answer is 431 and nothing is sent to the provider."""
    before = len(world.upstream.requests)
    async with wire(world) as conn:
        # Two writes, the second small, so the listener has read every byte when it answers
        # (closing a socket with unread bytes would reset it and could discard the answer).
        await conn.send(request(setup, "GET", "/huge")[:-2] + b"X-Big: " + b"a" * 60_000)
        await asyncio.sleep(0.2)
        end = b"\r\n\r\n" if ending == "completed-in-the-crossing-read" else b""
        await conn.send(b"b" * 6_000 + end)
        answer = await conn.read_response()
        assert_problem(answer, 431, "request_head_too_large")
        assert answer.header("connection") == "close"
        assert await conn.closed_by_server()
    assert len(world.upstream.requests) == before


async def test_connect_is_refused_with_a_400_problem(world: ProxyWorld) -> None:
    async with wire(world) as conn:
        await conn.send(b"CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n")
        answer = await conn.read_response()
        assert_problem(answer, 400, "invalid_request")
        assert await conn.closed_by_server()


async def test_upgrade_request_is_answered_as_plain_http_then_the_connection_closes(
    world: ProxyWorld, setup: SeededSetup
) -> None:
    before = len(world.upstream.requests)
    async with wire(world) as conn:
        await conn.send(
            request(
                setup,
                "GET",
                "/upgrade",
                "Connection: Upgrade",
                "Upgrade: websocket",
                "Sec-WebSocket-Version: 13",
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
            )
        )
        answer = await conn.read_response()
        assert answer.status == 200 and answer.json()["path"] == "/upgrade"
        assert answer.header("connection") == "close"
        assert await conn.closed_by_server()
    [seen] = world.upstream.requests[before:]
    assert seen.header("upgrade") is None


async def test_proxy_calls_are_answered_through_the_call_not_asgi_messages(
    world: ProxyWorld,
) -> None:
    """The proxy handler is a ``DirectApp``: the listener hands it the call as its
    ``ResponseWriter``. Wrapping it (a middleware) would quietly put two ASGI messages back on every
    call; the management app, which is not one, keeps them."""
    proxy = world.app.handlers().proxy
    assert isinstance(proxy, DirectApp)
    settings = ConnectionSettings(
        world.app,
        keep_alive_timeout=5,
        access_log=False,
        header_route=(b"x-amp-proxy-version", proxy),
    )
    assert settings.route_direct is proxy
    assert settings.direct is None


async def test_healthz_answers_ok_without_proxy_headers(world: ProxyWorld) -> None:
    response = await world.proxy_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["content-type"] == "application/json"
    head = await world.proxy_client.head("/healthz")
    assert head.status_code == 200 and head.content == b""


async def test_request_without_proxy_headers_gets_the_proxy_problem(world: ProxyWorld) -> None:
    before = len(world.upstream.requests)
    response = await world.proxy_client.get("/v1/contacts")
    assert response.status_code == 400
    assert response.headers["x-passway-error"] == "unsupported_proxy_version"
    assert response.headers["content-type"] == "application/problem+json"
    version_only = await world.proxy_client.get("/healthz", headers={"x-amp-proxy-version": "1"})
    assert version_only.status_code == 400
    assert version_only.headers["x-passway-error"] == "missing_headers"
    assert len(world.upstream.requests) == before


# broken exchanges -------------------------------------------------------------------------------
async def test_client_leaving_between_pieces_of_a_slow_stream_closes_the_provider_connection(
    world: ProxyWorld, setup: SeededSetup
) -> None:
    """The client closes after the first piece while the provider is silent: the provider's
    connection is closed without waiting for its next piece."""
    seen_closed = asyncio.Event()

    async def slow_stream(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(b"data: first\n\n")
        if await client_leaves(request, 30):  # silent meanwhile
            seen_closed.set()
        return response

    world.upstream.set_handler("GET", "/slow-stream", slow_stream)
    async with wire(world) as conn:
        await conn.send(request(setup, "GET", "/slow-stream"))
        await asyncio.wait_for(conn.reader.readuntil(b"data: first"), WAIT)
    await asyncio.wait_for(seen_closed.wait(), WAIT)


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_provider_reset_mid_body_ends_the_client_connection_without_a_clean_end(
    world: ProxyWorld, setup: SeededSetup, framing: str
) -> None:
    """The client gets fewer bytes than the Content-Length announced, or no last chunk: never a
    response it could take for complete."""

    world.upstream.set_handler("GET", f"/reset/{framing}", reset_mid_body_handler(framing))
    async with wire(world) as conn:
        await conn.send(request(setup, "GET", f"/reset/{framing}"))
        status, headers = await conn.read_head()
        assert status == 200
        try:
            rest = await conn.read_to_end()
        except ConnectionResetError:
            rest = b""
    answer = RawResponse(status, headers, rest)
    if framing == "content-length":
        assert answer.header("content-length") == "100000"
        assert len(rest) < 100_000
    else:
        assert answer.header("transfer-encoding") == "chunked"
        assert not rest.endswith(b"0\r\n\r\n")
    with pytest.raises(httpx.HTTPError):
        async with world.proxy_client.stream(
            "GET", f"/reset/{framing}", headers=setup.proxy_headers()
        ) as response:
            async for _ in response.aiter_raw():
                pass


# idle connections, shut-down, access log (each in its own Passway) ---------------------------
async def test_idle_connections_are_closed_after_the_keep_alive_timeout(tmp_path: Path) -> None:
    """With ``keep_alive_timeout=0.5``: a connection idle after an answer, one that never sends
    anything, and one whose request head never completes are all closed by the listener."""
    async with (
        proxy_world(tmp_path, front_door="listener", keep_alive_timeout=0.5) as world,
        wire(world) as after_answer,
        wire(world) as silent,
        wire(world) as partial,
    ):
        await after_answer.send(request(None, "GET", "/healthz"))
        assert (await after_answer.read_response()).json() == {"status": "ok"}
        await partial.send(b"GET /v1/x HTTP/1.1\r\nHost: passway.test\r\nX-Half")
        for conn in (after_answer, silent, partial):
            assert await conn.closed_by_server()


async def test_shutdown_lets_the_call_in_progress_finish_and_refuses_new_connections(
    tmp_path: Path,
) -> None:
    async with proxy_world(tmp_path, front_door="listener") as world:
        setup = await seed_proxy_setup(
            world.client, ADMIN_KEY, provider=tc.APIKEY_BEARER, credential={"apiKey": SECRET}
        )
        release = asyncio.Event()

        async def held(request: web.Request) -> web.StreamResponse:
            await asyncio.wait_for(release.wait(), 30)
            return web.Response(text="finished after shut-down began")

        world.upstream.set_handler("GET", "/held", held)
        listener = world.app.proxy_listener
        assert listener is not None
        host, port = world.proxy_url.removeprefix("http://").split(":")
        async with wire(world) as conn:
            await conn.send(request(setup, "GET", "/held"))
            await asyncio.wait_for(world.upstream.request_arrived.wait(), WAIT)
            closing = asyncio.create_task(listener.aclose())
            await asyncio.sleep(0.1)
            with pytest.raises(OSError):
                await asyncio.open_connection(host, int(port))
            assert not closing.done()  # waiting for the call in progress
            release.set()
            answer = await conn.read_response()
            assert answer.status == 200
            assert answer.body == b"finished after shut-down began"
            assert answer.header("connection") == "close"
            assert await conn.closed_by_server()
        await asyncio.wait_for(closing, WAIT)
        with pytest.raises(OSError):
            await asyncio.open_connection(host, int(port))
        # the main port is not the listener's to close
        assert (await world.client.get("/healthz")).status_code == 200


async def test_access_log_has_one_line_per_answer_and_no_key_or_credential(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with proxy_world(tmp_path, front_door="listener", access_log=True) as world:
        setup = await seed_proxy_setup(
            world.client, ADMIN_KEY, provider=tc.APIKEY_BEARER, credential={"apiKey": SECRET}
        )
        wrong_key = "pw_" + "c" * 12 + "_" + "d" * 40
        access = logging.getLogger("uvicorn.access")
        access.addHandler(caplog.handler)  # uvicorn's logger does not propagate to the root
        try:
            with caplog.at_level(logging.INFO, logger="uvicorn.access"):
                ok = await world.proxy_client.get(
                    "/logged/ok?page=2", headers=setup.proxy_headers()
                )
                refused = await world.proxy_client.get(
                    "/logged/refused", headers=setup.proxy_headers(**{"x-api-key": wrong_key})
                )
        finally:
            access.removeHandler(caplog.handler)
    assert (ok.status_code, refused.status_code) == (200, 401)
    lines = [r.getMessage() for r in caplog.records if r.name == "uvicorn.access"]
    assert len([line for line in lines if "/logged/" in line]) == 2, lines
    # The path only: a query's values may be secrets (an OAuth callback's code and state).
    assert any('"GET /logged/ok HTTP/1.1" 200' in line for line in lines), lines
    assert "page=2" not in caplog.text
    assert any('"GET /logged/refused HTTP/1.1" 401' in line for line in lines), lines
    for secret in (setup.api_key, wrong_key, SECRET, ADMIN_KEY):
        assert secret not in caplog.text
