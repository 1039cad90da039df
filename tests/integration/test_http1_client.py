"""The proxy's HTTP/1.1 client against real loopback servers that write exact bytes: framing,
interim answers, keep-alive reuse and its limits, retries, timeouts, flow control, the egress guard
and TLS."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import socket
import ssl
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from passway.egress import EgressPolicy, EgressRefused
from passway.http1.client.errors import BrokenAnswer, StaleConnection, UpstreamConnectError
from passway.http1.client.pool import Http1Client
from passway.http1.client.response import Http1Response

LOOPBACK = EgressPolicy.from_settings(["127.0.0.1", "::1", "localhost"])
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """One request, head and body (Content-Length or chunked), as the bytes that arrived."""
    head = await reader.readuntil(b"\r\n\r\n")
    lowered = head.lower()
    if b"transfer-encoding: chunked" in lowered:
        body = b""
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.strip(), 16)
            chunk = await reader.readexactly(size + 2)
            body += size_line + chunk
            if size == 0:
                return head + body
    for line in lowered.split(b"\r\n"):
        if line.startswith(b"content-length:"):
            return head + await reader.readexactly(int(line.split(b":")[1]))
    return head


class RawServer:
    """A loopback server whose handler gets each connection and its number (from 1)."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[bytes] = []
        self.writers: list[asyncio.StreamWriter] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, StopIteration):
            await self.handler(reader, writer, self.connections)
        writer.close()

    def url(self, path: str = "/", host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"


@contextlib.asynccontextmanager
async def raw_server(
    handler: Handler, tls: ssl.SSLContext | None = None
) -> AsyncIterator[RawServer]:
    server = RawServer(handler)
    listener = await asyncio.start_server(server._serve, "127.0.0.1", 0, ssl=tls)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()
        for writer in server.writers:
            writer.transport.abort()
        await asyncio.sleep(0)


def keep_alive(answer: bytes) -> Handler:
    """Answer every request on the connection with ``answer``, recording the requests."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        while True:
            request = await read_request(reader)
            server_of[id(handler)].requests.append(request)
            writer.write(answer)
            await writer.drain()

    return handler


server_of: dict[int, RawServer] = {}


@contextlib.asynccontextmanager
async def answering(answer: bytes) -> AsyncIterator[RawServer]:
    handler = keep_alive(answer)
    async with raw_server(handler) as server:
        server_of[id(handler)] = server
        yield server


@pytest.fixture
async def client() -> AsyncIterator[Http1Client]:
    http = Http1Client(LOOPBACK, pool_size=10)
    yield http
    await http.aclose()


async def call(
    client: Http1Client,
    url: str,
    method: str = "GET",
    headers: list[tuple[str, str]] | None = None,
    body: bytes | AsyncIterator[bytes] | None = None,
    read_timeout: float = 5.0,
) -> tuple[Http1Response, bytes]:
    """Send, read the whole body, release; answer the response and its body."""
    response = await client.request(
        method, url, headers or [], body, connect_timeout=2.0, read_timeout=read_timeout
    )
    body_read = b""
    while chunk := await response.read():
        body_read += chunk
    response.release()
    return response, body_read


async def test_the_request_goes_out_byte_for_byte_and_the_answer_comes_back_raw(
    client: Http1Client,
) -> None:
    answer = (
        b"HTTP/1.1 201 Created\r\nSet-Cookie: a=1\r\nX-Thing:  spaced \r\nset-cookie: b=2\r\n"
        b"Content-Encoding: gzip\r\nContent-Length: 4\r\n\r\n\x1f\x8b\x00\x01"
    )
    async with answering(answer) as server:
        response, body = await call(
            client, server.url("/a%20b?x=1"), "POST", [("x-b", "1"), ("x-a", "2")], b"hello"
        )
    assert server.requests == [
        f"POST /a%20b?x=1 HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nx-b: 1\r\nx-a: 2\r\n"
        "Content-Length: 5\r\n\r\nhello".encode()
    ]
    assert response.status == 201
    assert response.raw_headers == [
        (b"Set-Cookie", b"a=1"),
        (b"X-Thing", b"spaced"),
        (b"set-cookie", b"b=2"),
        (b"Content-Encoding", b"gzip"),
        (b"Content-Length", b"4"),
    ]
    assert body == b"\x1f\x8b\x00\x01"  # not decompressed


async def test_chunked_answers_and_chunked_uploads(client: Http1Client) -> None:
    answer = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    )

    async def upload() -> AsyncIterator[bytes]:
        yield b"xyz"
        yield b""
        yield b"12"

    async with answering(answer) as server:
        _, body = await call(client, server.url("/up"), "PUT", [], upload())
        _, again = await call(client, server.url("/up"))
    assert body == again == b"abcde"
    assert server.requests[0].endswith(
        b"Transfer-Encoding: chunked\r\n\r\n3\r\nxyz\r\n2\r\n12\r\n0\r\n\r\n"
    )
    assert server.connections == 1


async def test_a_body_delimited_by_the_end_of_the_connection(client: Http1Client) -> None:
    async def until_close(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int
    ) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\npart one, ")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b"part two")

    async with raw_server(until_close) as server:
        _, first = await call(client, server.url())
        _, second = await call(client, server.url())
    assert first == second == b"part one, part two"
    assert server.connections == 2
    assert client.open_connections == 0


async def test_head_and_bodyless_statuses_have_no_body_and_keep_the_connection(
    client: Http1Client,
) -> None:
    answers = iter(
        [
            b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n",  # HEAD: the length of a GET
            b"HTTP/1.1 204 No Content\r\n\r\n",
            b'HTTP/1.1 304 Not Modified\r\nETag: "v"\r\nContent-Length: 10\r\n\r\n',
            OK,
        ]
    )

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        while True:
            await read_request(reader)
            writer.write(next(answers))

    async with raw_server(handler) as server:
        results = [
            await call(client, server.url(), method) for method in ("HEAD", "DELETE", "GET", "GET")
        ]
    assert [(r.status, body) for r, body in results] == [
        (200, b""),
        (204, b""),
        (304, b""),
        (200, b"ok"),
    ]
    assert server.connections == 1


async def test_interim_answers_are_skipped(client: Http1Client) -> None:
    answer = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" + OK
    )
    async with answering(answer) as server:
        response, body = await call(client, server.url(), "POST", [], b"x")
        _, again = await call(client, server.url())
    assert (response.status, response.raw_headers, body) == (
        200,
        [(b"Content-Length", b"2")],
        b"ok",
    )
    assert again == b"ok"
    assert server.connections == 1


async def test_connections_are_reused_only_after_a_complete_clean_answer(
    client: Http1Client,
) -> None:
    async def in_two_parts(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int
    ) -> None:
        while True:
            await read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nabc")
            await asyncio.sleep(0.1)
            writer.write(b"def")

    async with raw_server(in_two_parts) as server:
        await call(client, server.url())
        await call(client, server.url())
        assert server.connections == 1
        unread = await client.request(
            "GET", server.url(), [], None, connect_timeout=2, read_timeout=2
        )
        unread.release()  # the body was not read: the connection cannot carry another request
        await call(client, server.url())
        assert server.connections == 2
        abandoned = await client.request(
            "GET", server.url(), [], None, connect_timeout=2, read_timeout=2
        )
        abandoned.close()
        await call(client, server.url())
        assert server.connections == 3
    async with answering(
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"
    ) as s:
        await call(client, s.url())
        await call(client, s.url())
        assert s.connections == 2


async def test_a_counted_body_in_many_reads_comes_out_whole_whatever_the_reader_pace(
    client: Http1Client,
) -> None:
    """A Content-Length body is taken past the parser once its head is in: pieces of every size,
    read at once or after several have piled up, come out whole and in order, and the
    connection is reused."""
    payload = bytes(range(256)) * 4096  # 1 MiB

    async def in_pieces(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        while True:
            await read_request(reader)
            head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(payload)
            writer.write(head + payload[:10])
            await writer.drain()
            start = 10
            for size in (1, 70_000, 3, 300_000, 65_536, 200_000):
                writer.write(payload[start : start + size])
                await writer.drain()
                await asyncio.sleep(0.01)
                start += size
            writer.write(payload[start:])

    async with raw_server(in_pieces) as server:
        for pause in (0.0, 0.05):
            response = await client.request(
                "GET", server.url(), [], None, connect_timeout=2, read_timeout=5
            )
            chunks = []
            while chunk := await response.read():
                chunks.append(chunk)
                await asyncio.sleep(pause)  # slow: several pieces wait to be read
            assert response.complete
            response.release()
            assert b"".join(chunks) == payload
        assert server.connections == 1


async def test_a_second_answer_to_one_request_is_ignored_and_the_connection_dropped(
    client: Http1Client,
) -> None:
    async def too_much(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        while True:
            await read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n")
            await writer.drain()
            await asyncio.sleep(0.05)
            writer.write(b"okHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra")

    async with raw_server(too_much) as server:
        _, body = await call(client, server.url())
        assert body == b"ok"
        _, body = await call(client, server.url())
        assert body == b"ok"
        assert server.connections == 2  # the first connection carried a second answer: dropped
    second = b"HTTP/1.1 200 OK\r\nX-Second: 1\r\nContent-Length: 5\r\n\r\nextra"
    async with answering(OK + second) as both_at_once:
        response, body = await call(client, both_at_once.url())
        assert (body, response.raw_headers) == (b"ok", [(b"Content-Length", b"2")])
        await call(client, both_at_once.url())
        assert both_at_once.connections == 2


async def test_a_connection_the_provider_closed_while_idle_is_not_used(client: Http1Client) -> None:
    async def one_then_close(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int
    ) -> None:
        await read_request(reader)
        writer.write(OK)
        await writer.drain()
        await asyncio.sleep(0.05)

    async with raw_server(one_then_close) as server:
        await call(client, server.url())
        await asyncio.sleep(0.2)
        _, body = await call(client, server.url(), "POST", [], b"not idempotent")
    assert body == b"ok"
    assert server.connections == 2


def close_on_second_request() -> Handler:
    """Answers the first request; reads the second and closes without a byte (a stale race)."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await read_request(reader)
        writer.write(OK)
        await writer.drain()
        if n == 1:
            await read_request(reader)
            return  # closed before any byte of the second answer
        while True:
            await read_request(reader)
            writer.write(OK)

    return handler


@pytest.mark.parametrize(
    ("method", "body"), [("GET", None), ("PUT", b"replayable"), ("POST", None)]
)
async def test_a_reused_connection_failing_before_the_answer_is_retried_once(
    client: Http1Client, method: str, body: bytes | None
) -> None:
    async with raw_server(close_on_second_request()) as server:
        await call(client, server.url())
        _, answer = await call(client, server.url(), method, [], body)
    assert answer == b"ok"
    assert server.connections == 2


async def test_a_consumed_body_of_a_non_idempotent_call_is_never_sent_twice(
    client: Http1Client,
) -> None:
    async def stream() -> AsyncIterator[bytes]:
        yield b"once"

    async with raw_server(close_on_second_request()) as server:
        await call(client, server.url())
        with pytest.raises(StaleConnection):
            await call(client, server.url(), "POST", [], b"charge the card")
    assert server.connections == 1
    async with raw_server(close_on_second_request()) as server:
        await call(client, server.url())
        with pytest.raises(StaleConnection):  # idempotent, but the stream cannot be read again
            await call(client, server.url(), "PUT", [], stream())
    assert server.connections == 1


async def test_the_read_timeout_is_the_longest_silence(client: Http1Client) -> None:
    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        request = await read_request(reader)
        if b"/silent" in request:
            await asyncio.sleep(2)
            return
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n")
        for piece in (b"a", b"b", b"c"):
            await asyncio.sleep(0.15)
            writer.write(piece)
        if b"/stall" in request:
            await asyncio.sleep(2)
        writer.write(b"d")

    async with raw_server(trickle) as server:
        _, body = await call(client, server.url("/slow"), read_timeout=0.4)
        assert body == b"abcd"
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(TimeoutError):
            await call(client, server.url("/silent"), read_timeout=0.3)
        assert loop.time() - started < 1.5
        with pytest.raises(TimeoutError):
            await call(client, server.url("/stall"), read_timeout=0.4)
    assert client.open_connections <= 1


async def test_an_answer_breaking_off_mid_body_is_an_error(client: Http1Client) -> None:
    async def broken(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        request = await read_request(reader)
        if b"/chunked" in request:
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n")
        elif b"/garbage" in request:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n")
        elif b"/until-close" in request:  # a reset, not an end: the body is not complete
            writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabc")
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.transport.abort()

    async with raw_server(broken) as server:
        for path in ("/length", "/chunked", "/garbage", "/until-close"):
            with pytest.raises(BrokenAnswer):
                await call(client, server.url(path))


async def test_a_slow_reader_holds_the_provider_back(client: Http1Client) -> None:
    sent = {"bytes": 0}

    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.transport.set_write_buffer_limits(high=64 * 1024)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n")
        while True:
            writer.write(b"z" * 65536)
            await writer.drain()
            sent["bytes"] += 65536

    async with raw_server(flood) as server:
        response = await client.request(
            "GET", server.url(), [], None, connect_timeout=2, read_timeout=5
        )
        await asyncio.sleep(0.5)
        held = sent["bytes"]
        await asyncio.sleep(0.3)
        assert sent["bytes"] == held < 32 * 1024 * 1024  # paused: no more is being taken
        got = 0
        while got < 8 * 1024 * 1024:
            got += len(await response.read())
        assert sent["bytes"] > held
        response.close()


async def test_an_upload_waits_while_the_provider_does_not_read(client: Http1Client) -> None:
    produced = {"bytes": 0}
    release = asyncio.Event()

    async def stalled(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await release.wait()
        writer.write(OK)
        await writer.drain()

    async def endless() -> AsyncIterator[bytes]:
        while True:
            produced["bytes"] += 65536
            yield b"u" * 65536

    async with raw_server(stalled) as server:
        pending = asyncio.create_task(
            client.request(
                "PUT",
                server.url(),
                [("content-length", str(1 << 40))],
                endless(),
                connect_timeout=2,
                read_timeout=5,
            )
        )
        await asyncio.sleep(0.5)
        held = produced["bytes"]
        await asyncio.sleep(0.3)
        assert produced["bytes"] == held < 64 * 1024 * 1024
        release.set()
        response = await pending
        assert response.status == 200
        response.release()  # the upload was cut short: the connection is closed, not pooled
        await asyncio.sleep(0.05)
    assert client.open_connections == 0


async def test_the_pool_cap_bounds_open_connections_and_idle_ones_expire() -> None:
    http = Http1Client(LOOPBACK, pool_size=1, idle_timeout=0.2)
    gate = asyncio.Event()

    async def gated(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        while True:
            await read_request(reader)
            await gate.wait()
            writer.write(OK)
            await writer.drain()

    try:
        async with raw_server(gated) as server, answering(OK) as other:
            first = asyncio.create_task(call(http, server.url()))
            second = asyncio.create_task(call(http, other.url()))
            await asyncio.sleep(0.3)
            assert not second.done() and other.connections == 0  # waiting for the one slot
            gate.set()
            await first
            await second  # took the slot, closing the idle connection to the first server
            assert http.open_connections == 1
            await asyncio.sleep(0.5)
            await call(http, other.url())  # the idle one expired: a new connection
            assert other.connections == 2
    finally:
        await http.aclose()


async def test_the_egress_guard_refuses_before_any_connection(tmp_path: Path) -> None:
    strict = Http1Client(EgressPolicy.from_settings([]), pool_size=10)
    try:
        async with answering(OK) as server:
            for host in ("127.0.0.1", "localhost"):
                with pytest.raises(EgressRefused) as refused:
                    await call(strict, server.url(host=host))
                assert refused.value.reason == "loopback address"
            assert server.connections == 0
    finally:
        await strict.aclose()


async def test_refused_connections_and_unknown_hosts_are_connect_errors(
    client: Http1Client,
) -> None:
    async with answering(OK) as server:
        port = server.port
    with pytest.raises(UpstreamConnectError):
        await call(client, f"http://127.0.0.1:{port}/")
    with pytest.raises(UpstreamConnectError):
        await call(client, "http://no-such-host.invalid/")


def _certificate(tmp_path: Path, name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a self-signed certificate for ``name``, and a client trusting it."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    san: list[x509.GeneralName] = [x509.DNSName(name)]
    with contextlib.suppress(ValueError):
        san = [x509.IPAddress(ipaddress.ip_address(name))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName(san), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    trusting = ssl.create_default_context()
    trusting.load_verify_locations(cert_file)
    return server, trusting


async def test_https_checks_the_certificate_and_the_host_name(tmp_path: Path) -> None:
    server_tls, trusting = _certificate(tmp_path, "localhost")
    http = Http1Client(LOOPBACK, pool_size=10, ssl_context=trusting)
    default = Http1Client(LOOPBACK, pool_size=10)
    handler = keep_alive(OK)
    try:
        async with raw_server(handler, tls=server_tls) as server:
            server_of[id(handler)] = server
            _, body = await call(http, server.url(host="localhost", scheme="https"))
            assert body == b"ok"
            assert server.requests[0].startswith(b"GET / HTTP/1.1\r\nHost: localhost:")
            with pytest.raises(UpstreamConnectError):  # the name is not the certificate's
                await call(http, server.url(host="127.0.0.1", scheme="https"))
            with pytest.raises(UpstreamConnectError):  # not a trusted certificate
                await call(default, server.url(host="localhost", scheme="https"))
    finally:
        await http.aclose()
        await default.aclose()


async def test_the_connect_timeout_covers_a_stalled_tls_handshake(client: Http1Client) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await asyncio.sleep(3)

    async with raw_server(silent) as server:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(TimeoutError):
            await client.request(
                "GET", server.url(scheme="https"), [], None, connect_timeout=0.3, read_timeout=5
            )
        assert loop.time() - started < 1.5
    assert client.open_connections == 0
