"""Open-loop load generator: sends requests at a fixed rate and reports latency percentiles.

Debian ships ``wrk`` (closed loop: each connection waits for its answer before sending again, so it
measures throughput, not latency at a given rate) but neither ``wrk2`` nor ``vegeta``. This is the
open-loop replacement: a request is due every ``1/rate`` seconds whatever happened to the previous
ones; it goes out on an idle keep-alive connection, or on a new one if all are busy, so a slow
server builds a queue instead of slowing the generator down (no coordinated omission).

Latency is measured from the moment the request is written to the moment its last response byte is
read. The generator reports its own lateness (``send_lag``: how far behind schedule requests left)
and its CPU use, so a run shows whether the generator itself was a bottleneck.

Run as its own process (``python bench/loadgen.py ...``) so it does not share an event loop, or a
GIL, with anything it measures. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import time
from collections import deque
from urllib.parse import urlsplit

import uvloop  # comes with uvicorn[standard]


class Connection:
    """One keep-alive HTTP/1.1 connection that reads responses by Content-Length or chunks."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def exchange(self, request: bytes) -> int:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = -1
        chunked = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            lowered = name.strip().lower()
            if lowered == b"content-length":
                length = int(value)
            elif lowered == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            while True:
                size = int((await self.reader.readline()).split(b";")[0], 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        elif length > 0:
            await self.reader.readexactly(length)
        elif length < 0:
            raise RuntimeError("response without length on a keep-alive connection")
        return status


def build_request(method: str, host: str, path: str, headers: list[str], body: bytes) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += headers
    if body or method in {"POST", "PUT", "PATCH"}:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


async def run(args: argparse.Namespace) -> dict[str, object]:
    url = urlsplit(args.url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    path = (url.path or "/") + (f"?{url.query}" if url.query else "")
    body = b"x" * args.body_size
    request = build_request(args.method, f"{host}:{port}", path, args.header, body)

    idle: deque[Connection] = deque()
    opened = 0

    async def connect() -> Connection:
        nonlocal opened
        reader, writer = await asyncio.open_connection(host, port, limit=1 << 20)
        opened += 1
        return Connection(reader, writer)

    for _ in range(args.initial_connections):
        idle.append(await connect())

    latencies: list[float] = []
    lags: list[float] = []
    errors: dict[str, int] = {}
    clock = time.perf_counter  # the loop's clock only has millisecond resolution under uvloop
    interval = 1.0 / args.rate
    start = clock() + 0.05
    measure_from = start + args.warmup
    total = int(args.rate * (args.warmup + args.duration))

    def take_idle() -> Connection | None:
        # Like any client pool: skip connections the server has closed while they sat idle
        # (uvicorn closes keep-alive connections after 5 s idle by default).
        while idle:
            conn = idle.pop()
            if not conn.reader.at_eof():
                return conn
            conn.writer.close()
        return None

    async def one(due: float) -> None:
        conn = take_idle()
        try:
            if conn is None:
                conn = await connect()
            sent = time.perf_counter()
            status = await conn.exchange(request)
            elapsed = time.perf_counter() - sent
        except Exception as exc:
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            if conn is not None:
                conn.writer.close()
            return
        idle.append(conn)
        if due >= measure_from:
            if 200 <= status < 400:
                latencies.append(elapsed)
            else:
                errors[f"http_{status}"] = errors.get(f"http_{status}", 0) + 1

    cpu_before = os.times()
    tasks: set[asyncio.Task[None]] = set()
    for i in range(total):
        due = start + i * interval
        delay = due - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        if due >= measure_from:
            lags.append(max(0.0, clock() - due))
        task = asyncio.create_task(one(due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    wall_end = clock()
    if tasks:
        await asyncio.wait(tasks, timeout=args.drain_timeout)
    cpu_after = os.times()
    for conn in idle:
        conn.writer.close()

    latencies.sort()
    lags.sort()
    cpu = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    wall = wall_end - start
    return {
        "rate": args.rate,
        "sent": total,
        "measured": len(latencies),
        "errors": errors,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p90_ms": percentile(latencies, 0.90) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": (latencies[-1] if latencies else float("nan")) * 1000,
        "send_lag_p99_ms": percentile(lags, 0.99) * 1000,
        "connections_opened": opened,
        "generator_cpu_pct": 100.0 * cpu / wall if wall > 0 else float("nan"),
        "generator_max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, default=500.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds sent but not measured")
    parser.add_argument("--method", default="GET")
    parser.add_argument("--body-size", type=int, default=0)
    parser.add_argument("-H", "--header", action="append", default=[])
    parser.add_argument("--initial-connections", type=int, default=16)
    parser.add_argument("--drain-timeout", type=float, default=30.0)
    args = parser.parse_args()
    uvloop.install()
    print(json.dumps(asyncio.run(run(args))))


if __name__ == "__main__":
    main()
