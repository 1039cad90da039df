"""What a front door costs per request: ``python bench/front_door.py``.

Serves a trivial ASGI app (a fixed 1 KB answer, no upstream) in this process, once behind
Passway's HTTP/1.1 server (``passway.http1.server``) and once behind uvicorn (httptools, uvloop),
loads each with wrk (1 thread, 32 connections) and prints requests per second and this process's
CPU time per request. The difference is what the server side of a proxied call costs, apart from
the proxy's own work. Both run in turn, ``--rounds`` times; compare within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import uvloop
from common import free_port

from passway.http1.server.listener import ProxyListener

BODY = b"x" * 1024
HEADERS = [(b"content-type", b"application/octet-stream"), (b"content-length", b"1024")]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@contextlib.asynccontextmanager
async def serving(kind: str, port: int) -> AsyncIterator[None]:
    if kind == "listener":
        listener = ProxyListener(app, host="127.0.0.1", port=port, keep_alive_timeout=75)
        await listener.start()
        try:
            yield
        finally:
            await listener.aclose()
        return
    import uvicorn

    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        http="httptools",
        lifespan="off",
        log_level="warning",
        access_log=False,
        server_header=False,
        date_header=False,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    try:
        yield
    finally:
        server.should_exit = True
        await task


async def measure(kind: str, duration: int) -> tuple[float, float]:
    port = free_port()
    async with serving(kind, port):
        url = f"http://127.0.0.1:{port}/1k.bin"
        wrk = ["wrk", "-t1", "-c32", f"-d{duration}s", url]
        before = _cpu()
        process = await asyncio.create_subprocess_exec(*wrk, stdout=subprocess.PIPE)
        out = (await process.communicate())[0].decode()
        spent = _cpu() - before
    requests = int(next(line for line in out.splitlines() if "requests in" in line).split()[0])
    return requests / duration, spent / requests * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    for round_ in range(1, args.rounds + 1):
        for kind in ("listener", "uvicorn"):
            rps, cpu = await measure(kind, args.duration)
            print(f"round {round_} {kind:8s} {rps:8,.0f} req/s  {cpu:5.1f} us CPU per request")


if __name__ == "__main__":
    uvloop.run(main())
