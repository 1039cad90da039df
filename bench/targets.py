"""The systems a benchmark run measures, started and checked: nginx as a reverse proxy, the bare
asyncio proxy, and ``passway serve`` over a compiled or pure source tree (``bench/run.py`` names
them ``nginx-1w``, ``bare-1w``, ``passway-2w+norec``, ``passway-1w@label`` ...). Each target is
checked before it is measured: the upstream must see the injected credential, not the client's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from build import compiled_tree, pure_tree
from common import free_port, wait_for_port
from nginx import Nginx, start_proxy
from passway_target import SRC, PasswayServer

BENCH_DIR = Path(__file__).resolve().parent
TOKEN = "bench-provider-token-abcdef0123456789"
BIG = 100 * 1000 * 1000


def make_files(root: Path) -> Path:
    """Static files for the upstream, and the 100 MB upload source."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "1k.bin").write_bytes(os.urandom(1024))
    chunk = os.urandom(1 << 20)
    big = root / "100m.bin"
    with big.open("wb") as fh:
        for _ in range(BIG // len(chunk)):
            fh.write(chunk)
        fh.write(chunk[: BIG % len(chunk)])
    return big


def check_injection(base: str, headers: dict[str, str], expect: str) -> None:
    """Ask the upstream's /auth echo what Authorization it received through this target."""
    request = urllib.request.Request(base + "/auth", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        seen = response.read().decode()
    if seen != expect:
        raise RuntimeError(f"{base}: upstream saw Authorization {seen!r}, not the injected one")


@dataclass
class Target:
    """One system under test: where to send requests, with which headers, and whose memory."""

    name: str
    base: str
    headers: dict[str, str]
    pid: int | None
    stop: Callable[[], None]


def start_bare(upstream: Nginx, work: Path) -> Target:
    """The bare asyncio proxy (bench/bare_proxy.py): the floor for a Python proxy here."""
    port = free_port()
    log = (work / "bare.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, str(BENCH_DIR / "bare_proxy.py"), str(port), str(upstream.port), TOKEN],
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def stop() -> None:
        process.terminate()
        process.wait(timeout=10)

    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_port(port, process=process)
        check_injection(base, {"Authorization": "Bearer client"}, f"Bearer {TOKEN}")
    except BaseException:
        stop()
        raise

    return Target("bare-1w", base, {}, process.pid, stop)


_TREES: dict[tuple[Path, bool], Path] = {}


def passway_tree(src: Path, work: Path, *, pure: bool) -> Path:
    """The sources a Passway target runs: compiled as ``pip install`` builds them (the default),
    or pure Python (``+pure``); each built once per run."""
    key = (src, pure)
    if key not in _TREES:
        dest = work / f"tree-{len(_TREES)}"
        dest.mkdir()
        print(f"building {'pure' if pure else 'compiled'} tree of {src}", flush=True)
        _TREES[key] = pure_tree(src, dest) if pure else compiled_tree(src, dest)
    return _TREES[key]


def start_target(
    name: str, upstream: Nginx, work: Path, args_src: dict[str, str] | None = None
) -> Target:
    """Start one target. ``passway-1w@label`` runs the source tree given as ``--src label=DIR``;
    ``+pure`` runs it without compiling the hot path, ``+norec`` with recording off, ``+quiet``
    at log level warning (no line per call)."""
    args_src = args_src or {}
    if name == "direct":
        pid = upstream.process.pid if upstream.process else None
        return Target(name, f"http://127.0.0.1:{upstream.port}", {}, pid, lambda: None)
    if name == "bare-1w":
        return start_bare(upstream, work)
    kind, _, variant = name.partition("@")
    kind, _, flag = kind.partition("+")
    workers = int(kind.rsplit("-", 1)[1].rstrip("w"))
    # +norec: operations recording off (nothing is written to the database; logs, metrics stay).
    # +quiet: log level warning (no line per call).
    extra_env = {
        "norec": {"PASSWAY_OPERATIONS_RETENTION_DAYS": "0"},
        "quiet": {"PASSWAY_LOG_LEVEL": "warning"},
    }.get(flag, {})
    if name.startswith("nginx-"):
        proxy = start_proxy(work / name, free_port(), upstream.port, workers, TOKEN)
        base = f"http://127.0.0.1:{proxy.port}"
        try:
            check_injection(base, {}, f"Bearer {TOKEN}")
        except BaseException:
            proxy.stop()
            raise
        assert proxy.process is not None
        return Target(name, base, {}, proxy.process.pid, proxy.stop)
    src = passway_tree(Path(args_src[variant]) if variant else SRC, work, pure=flag == "pure")
    # passway-Nw and passway-main-Nw: proxy calls on the main port (Passway's own server).
    proxy_port = None
    passway = PasswayServer(
        work / name,
        free_port(),
        workers,
        upstream.port,
        TOKEN,
        src=src,
        proxy_port=proxy_port,
        extra_env=extra_env,
    )
    try:
        passway.start()
        passway.provision()
        base = passway.proxy_base
        # A client's own Authorization must be replaced by the connection's credential.
        check_injection(
            base, {**passway.headers, "Authorization": "Bearer client"}, f"Bearer {TOKEN}"
        )
    except BaseException:
        passway.stop()
        raise
    return Target(name, base, passway.headers, passway.pid, passway.stop)
