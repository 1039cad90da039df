"""Passway against nginx, side by side, in one run on this machine: ``python bench/run.py``.

Starts nginx as a fast local upstream, then measures each target in turn against it:

- ``direct``: the upstream itself (the ceiling);
- ``nginx-1w`` / ``nginx-2w``: nginx as a reverse proxy injecting a fixed ``Authorization`` header,
  with 1 and 2 worker processes (the practical limit for a proxy);
- ``passway-1w`` / ``passway-2w``: ``passway serve --workers 1|2`` over the full proxy path (API
  key, installation, connection, credential placement).

For each: throughput at fixed concurrency (wrk) and latency at a fixed rate (bench/loadgen.py, open
loop) for a 1 KB GET and a 64 KB POST; throughput and the proxy's peak resident memory for a 100 MB
download and upload. Prints a Markdown table with Passway/nginx ratios and writes it, with the raw
numbers as JSON, to ``bench/results/<timestamp>.{md,json}``. Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import free_port
from nginx import Nginx, start_proxy, start_upstream
from passway_target import PasswayServer
from report import diagnostics, table, target_checks
from tools import ensure_tools
from transfers import run_transfers
from wrk import run_wrk

BENCH_DIR = Path(__file__).resolve().parent
TOKEN = "bench-provider-token-abcdef0123456789"
BIG = 100 * 1000 * 1000
ALL_TARGETS = ["direct", "nginx-1w", "nginx-2w", "passway-1w", "passway-2w"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Passway vs nginx benchmark (loopback only)")
    parser.add_argument("--quick", action="store_true", help="short runs (about 2 minutes)")
    parser.add_argument("--targets", default=",".join(ALL_TARGETS), help="comma-separated")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--rate", type=float, default=500.0, help="req/s for the latency runs")
    parser.add_argument("--repeats", type=int, default=3, help="100 MB transfers of each kind")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results")
    args = parser.parse_args()
    if args.quick:
        args.duration = min(args.duration, 3.0)
        args.repeats = 1
    return args


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


def check_injection(base: str, headers: dict[str, str], expect: str | None) -> None:
    """Ask the upstream's /auth echo what Authorization it received through this target."""
    request = urllib.request.Request(base + "/auth", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        seen = response.read().decode()
    if expect is not None and seen != expect:
        raise RuntimeError(
            f"{base}: upstream saw Authorization {seen!r}, expected the injected one"
        )


def measure(
    base: str,
    headers: dict[str, str],
    pid: int | None,
    args: argparse.Namespace,
    work: Path,
    upload_file: Path,
) -> dict[str, Any]:
    """All scenarios against one target whose base URL is ``base``."""
    result: dict[str, Any] = {}
    warm = max(1.0, args.duration / 5)
    for name, method, path, size in (
        ("get_throughput", "GET", "/1k.bin", 0),
        ("post_throughput", "POST", "/sink", 65536),
    ):
        common = dict(
            method=method,
            headers=headers,
            body_size=size,
            connections=args.connections,
            threads=args.wrk_threads,
            workdir=work,
        )
        run_wrk(base + path, duration=warm, **common)  # warm-up: connections, caches, JIT-free
        result[name] = run_wrk(base + path, duration=args.duration, **common)
        print(f"    {name}: {result[name]['rps']:,.0f} req/s", flush=True)
    for name, method, path, size in (
        ("get_latency", "GET", "/1k.bin", 0),
        ("post_latency", "POST", "/sink", 65536),
    ):
        cmd = [
            sys.executable,
            str(BENCH_DIR / "loadgen.py"),
            base + path,
            "--rate",
            f"{args.rate:g}",
            "--duration",
            f"{args.duration:g}",
            "--warmup",
            f"{warm:g}",
            "--method",
            method,
            "--body-size",
            str(size),
        ]
        for key, value in headers.items():
            cmd += ["-H", f"{key}: {value}"]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        result[name] = json.loads(out)
        print(
            f"    {name}: p50 {result[name]['p50_ms']:.2f} ms, p99 {result[name]['p99_ms']:.2f} ms",
            flush=True,
        )
    for name, path in (("download", "/100m.bin"), ("upload", "/sink/stream")):
        result[name] = run_transfers(
            base + path,
            direction=name,
            headers=headers,
            size=BIG,
            repeats=args.repeats,
            upload_file=upload_file,
            proxy_pid=pid,
        )
        print(f"    {name}: {result[name]['mb_per_s']:,.0f} MB/s", flush=True)
    return result


def run_target(
    target: str, upstream: Nginx, args: argparse.Namespace, work: Path, upload_file: Path
) -> dict[str, Any]:
    print(f"== {target}", flush=True)
    if target == "direct":
        base = f"http://127.0.0.1:{upstream.port}"
        return measure(
            base, {}, upstream.process.pid if upstream.process else None, args, work, upload_file
        )
    workers = int(target.split("-")[1].rstrip("w"))
    if target.startswith("nginx-"):
        server = start_proxy(work / target, free_port(), upstream.port, workers, TOKEN)
        try:
            base = f"http://127.0.0.1:{server.port}"
            check_injection(base, {}, f"Bearer {TOKEN}")
            assert server.process is not None
            return measure(base, {}, server.process.pid, args, work, upload_file)
        finally:
            server.stop()
    passway = PasswayServer(work / target, free_port(), workers, upstream.port, TOKEN)
    try:
        passway.start()
        passway.provision()
        base = f"http://127.0.0.1:{passway.port}"
        check_injection(
            base, {**passway.headers, "Authorization": "Bearer client"}, f"Bearer {TOKEN}"
        )
        return measure(base, passway.headers, passway.pid, args, work, upload_file)
    finally:
        passway.stop()


def environment() -> dict[str, Any]:
    nginx_version = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[
        0
    ]
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "nginx": nginx_version,
        "wrk": wrk_version,
        "kernel": platform.release(),
    }


def main() -> None:
    args = parse_args()
    ensure_tools()
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    started = dt.datetime.now(dt.UTC)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="passway-bench-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)  # nginx workers run as an unprivileged user and must read the files
        upload_file = make_files(work / "root")
        upstream = start_upstream(work / "upstream", free_port(), work / "root", 1, False)
        try:
            for target in targets:
                results[target] = run_target(target, upstream, args, work, upload_file)
                time.sleep(1)
        finally:
            upstream.stop()
    env = environment()
    title = f"Passway vs nginx, {started:%Y-%m-%d %H:%M} UTC"
    settings = (
        f"{env['cpus']} CPUs ({env['cpu']}), {env['nginx']}, {env['wrk']}, "
        f"Python {env['python']}; {args.connections} connections x {args.duration:g} s "
        f"(wrk, {args.wrk_threads} threads); latency at {args.rate:g} req/s open loop "
        f"for {args.duration:g} s; 100 MB transfers: median of {args.repeats} (curl)"
    )
    body = "\n".join(
        [
            f"# {title}",
            "",
            settings,
            "",
            table(results, targets, args.rate),
            "",
            "Targets (Passway with N workers against nginx with N workers):",
            "",
            *target_checks(results, targets),
            "",
            "Diagnostics:",
            "",
            *diagnostics(results, targets),
            "",
        ]
    )
    print("\n" + body)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    (args.out / f"{stamp}.md").write_text(body)
    (args.out / f"{stamp}.json").write_text(
        json.dumps(
            {
                "started": started.isoformat(),
                "environment": env,
                "arguments": {k: str(v) for k, v in vars(args).items()},
                "results": results,
            },
            indent=2,
        )
    )
    print(f"written: {args.out / (stamp + '.md')} and .json")


if __name__ == "__main__":
    main()
