"""Passway against nginx, side by side, in one run on this machine: ``python bench/run.py``.

Starts nginx as a fast local upstream, then measures each target in turn against it:

- ``direct``: the upstream itself (the ceiling);
- ``nginx-1w`` / ``nginx-2w``: nginx as a reverse proxy injecting a fixed ``Authorization`` header,
  with 1 and 2 worker processes (the practical limit for a proxy);
- ``passway-1w`` / ``passway-2w``: ``passway serve --workers 1|2`` over the full proxy path (API
  key, installation, connection, credential placement), proxy calls sent to the main port (served
  by Passway's own HTTP/1.1 server since the proxy port was folded into it);
- ``passway-main-1w`` / ``passway-main-2w``: the same (the names of earlier runs, when the main
  port was uvicorn's; accepted so result files compare).
- Passway targets run the hot path compiled, as ``pip install`` builds it (``bench/build.py``);
  with ``+pure`` (``passway-1w+pure``) the same sources run as plain Python.
- any Passway target with ``+norec`` (``passway-1w+norec``): the same with operations recording
  off (``PASSWAY_OPERATIONS_RETENTION_DAYS=0``). ``--recording`` measures ``passway-1w`` and
  ``passway-1w+norec`` side by side (1 KB GET throughput) and reports on/off.

For each: throughput at fixed concurrency (wrk) and latency at a fixed rate (bench/loadgen.py, open
loop) for a 1 KB GET and a 64 KB POST; the 1 KB GET's latency at one connection (wrk); throughput
and the proxy's peak resident memory for a 100 MB download and upload. Prints a Markdown table with
Passway/nginx ratios and writes it, with the raw numbers as JSON, to
``bench/results/<timestamp>.{md,json}``. Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import cpu_ticks, free_port, steal_share, tree_cpu
from nginx import Nginx, start_upstream
from passway_target import SRC
from report import diagnostics, table, target_checks
from targets import BENCH_DIR, BIG, Target, make_files, passway_tree, start_target
from tools import ensure_tools, find_py_spy
from transfers import run_transfers
from wrk import run_wrk

SCENARIOS = [
    "get_throughput",
    "get_latency_1c",
    "post_throughput",
    "get_latency",
    "post_latency",
    "download",
    "upload",
]
ALL_TARGETS = [
    "direct",
    "nginx-1w",
    "nginx-2w",
    "bare-1w",
    "passway-1w",
    "passway-2w",
    "passway-1w+pure",
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Passway vs nginx benchmark (loopback only)")
    parser.add_argument("--quick", action="store_true", help="one short round (about 5 minutes)")
    parser.add_argument("--targets", default=",".join(ALL_TARGETS), help="comma-separated")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per measurement")
    parser.add_argument("--rate", type=float, default=500.0, help="req/s for the latency runs")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up load")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (median)")
    parser.add_argument("--repeats", type=int, default=2, help="100 MB transfers per round")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument(
        "--src",
        action="append",
        default=[],
        type=lambda text: tuple(text.split("=", 1)),
        metavar="LABEL=DIR",
        help="a variant source tree, measured as target passway-Nw@LABEL (for A/B experiments)",
    )
    parser.add_argument(
        "--recording",
        action="store_true",
        help="operations recording on vs off: passway-1w and passway-1w+norec, 1 KB GET",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="then CPU per call by stage (bench/profile.py: 1 worker, main port, 1 KB GET, 10 s)",
    )
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results")
    parser.add_argument(
        "--scenarios",
        default=",".join(SCENARIOS),
        help="comma-separated subset of " + ", ".join(SCENARIOS),
    )
    args = parser.parse_args()
    if args.recording:
        args.targets = "passway-1w,passway-1w+norec"
        args.scenarios = "get_throughput"
    args.scenarios = [x for x in args.scenarios.split(",") if x]
    if args.quick:
        args.duration = min(args.duration, 3.0)
        args.warmup = 1.0
        args.repeats = 1
        args.rounds = 1
    if args.recording:
        args.rounds = max(args.rounds, 4)
    return args


def latency_one_connection(target: Target, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """1 KB GETs one at a time (wrk, 1 thread, 1 connection), measured after a warm-up at the same
    concurrency: wrk's p50 and p99 are the latency of a call with nothing queued before it."""
    result: dict[str, Any] = {}
    for duration in (args.warmup, args.duration):
        result = dict(
            run_wrk(
                target.base + "/1k.bin",
                method="GET",
                headers=target.headers,
                body_size=0,
                connections=1,
                duration=duration,
                threads=1,
                workdir=work,
            )
        )
    for pct in ("50", "99"):
        if f"wrk_p{pct}_ms" in result:
            result[f"p{pct}_ms"] = result[f"wrk_p{pct}_ms"]
    return result


def measure(
    target: Target,
    scenario: str,
    args: argparse.Namespace,
    work: Path,
    upload_file: Path,
    warm: bool = False,
) -> dict[str, Any]:
    """One scenario against one target."""
    if scenario == "get_latency_1c":
        return latency_one_connection(target, args, work)
    if scenario in ("get_throughput", "post_throughput"):
        path, method, size = (
            ("/1k.bin", "GET", 0) if scenario.startswith("get") else ("/sink", "POST", 65536)
        )
        cpu_before = tree_cpu(target.pid) if target.pid else 0.0
        result = run_wrk(
            target.base + path,
            method=method,
            headers=target.headers,
            body_size=size,
            connections=args.connections,
            duration=args.warmup if warm else args.duration,
            threads=args.wrk_threads,
            workdir=work,
        )
        if target.pid and result["requests"] and not warm:
            # CPU time per request is robust to other load on the machine, unlike req/s.
            spent = tree_cpu(target.pid) - cpu_before
            result["cpu_us_per_request"] = 1e6 * spent / result["requests"]
        return result
    if scenario in ("get_latency", "post_latency"):
        path, method, size = (
            ("/1k.bin", "GET", 0) if scenario.startswith("get") else ("/sink", "POST", 65536)
        )
        cmd = [
            sys.executable,
            str(BENCH_DIR / "loadgen.py"),
            target.base + path,
            "--rate",
            f"{args.rate:g}",
            "--duration",
            f"{args.duration:g}",
            "--warmup",
            f"{args.warmup:g}",
            "--method",
            method,
            "--body-size",
            str(size),
        ]
        for key, value in target.headers.items():
            cmd += ["-H", f"{key}: {value}"]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        return dict(json.loads(out))
    path = "/100m.bin" if scenario == "download" else "/sink/stream"
    return run_transfers(
        target.base + path,
        direction=scenario,
        headers=target.headers,
        size=BIG,
        repeats=args.repeats,
        upload_file=upload_file,
        proxy_pid=target.pid,
    )


def _short(scenario: str, data: dict[str, Any]) -> str:
    if "p50_ms" in data:
        return f"p50 {data['p50_ms']:.2f} ms, p99 {data['p99_ms']:.2f} ms"
    if "rps" in data:
        return f"{data['rps']:,.0f} req/s"
    return f"{data['mb_per_s']:,.0f} MB/s, peak RSS {data.get('rss_peak_mib', 0):.0f} MiB"


def combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median of each number over the rounds; peaks and errors take the worst round."""
    merged: dict[str, Any] = {"rounds": runs}
    for key, value in runs[0].items():
        values = [r[key] for r in runs if isinstance(r.get(key), int | float)]
        if not isinstance(value, int | float) or not values:
            continue
        worst = key.startswith("rss_") or key in ("errors", "max_ms", "send_lag_p99_ms")
        merged[key] = max(values) if worst else statistics.median(values)
    errors: dict[str, int] = {}
    for r in runs:
        if isinstance(r.get("errors"), dict):
            for name, n in r["errors"].items():
                errors[name] = errors.get(name, 0) + n
    if errors:
        merged["errors"] = errors
    return merged


def run_all(
    names: list[str], upstream: Nginx, args: argparse.Namespace, work: Path, upload_file: Path
) -> tuple[dict[str, Any], list[float]]:
    """All targets stay up; each scenario runs on every target in turn, for several rounds
    (the order rotating each round), so a change in background load hits all targets alike."""
    targets: list[Target] = []
    loads: list[float] = []
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        n: {s: [] for s in args.scenarios} for n in names
    }
    try:
        for name in names:
            print(f"starting {name}", flush=True)
            targets.append(start_target(name, upstream, work, dict(args.src)))
        for target in targets:
            for scenario in ("get_throughput", "post_throughput"):
                measure(target, scenario, args, work, upload_file, warm=True)
        for round_no in range(args.rounds):
            order = targets[round_no % len(targets) :] + targets[: round_no % len(targets)]
            for scenario in args.scenarios:
                for target in order:
                    loads.append(os.getloadavg()[0])
                    ticks = cpu_ticks()
                    data = measure(target, scenario, args, work, upload_file)
                    data["steal_pct"] = steal_share(ticks, cpu_ticks())
                    runs[target.name][scenario].append(data)
                    stolen = f", {data['steal_pct']:.0f}% stolen" if data["steal_pct"] >= 1 else ""
                    print(
                        f"  round {round_no + 1} {scenario:16} {target.name:11} "
                        f"{_short(scenario, data)}{stolen}",
                        flush=True,
                    )
    finally:
        for target in targets:
            target.stop()
    results = {n: {s: combine(r) for s, r in per.items() if r} for n, per in runs.items()}
    return results, loads


def worst_steal(results: dict[str, Any]) -> float:
    """The highest steal share of any single measurement of the run."""
    return max(
        (
            r.get("steal_pct", 0.0)
            for scenarios in results.values()
            for merged in scenarios.values()
            for r in merged.get("rounds", [])
        ),
        default=0.0,
    )


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


def recording_ratio(results: dict[str, Any]) -> str:
    """``passway-1w`` (recording on) against ``passway-1w+norec`` (off), when both ran."""
    on = results.get("passway-1w", {}).get("get_throughput", {})
    off = results.get("passway-1w+norec", {}).get("get_throughput", {})
    if not on.get("rps") or not off.get("rps"):
        return ""
    ratio = on["rps"] / off["rps"]
    cpu = ""
    if on.get("cpu_us_per_request") and off.get("cpu_us_per_request"):
        cpu = (
            f"; CPU per request {on['cpu_us_per_request']:.0f} us on vs "
            f"{off['cpu_us_per_request']:.0f} us off"
        )
    verdict = "within" if ratio >= 0.95 else "NOT within"
    return (
        f"Operations recording: 1 KB GET {on['rps']:,.0f} req/s on vs {off['rps']:,.0f} req/s off, "
        f"ratio {ratio:.3f} ({verdict} 5%){cpu}."
    )


def stage_profile(args: argparse.Namespace, tree: Path) -> list[str]:
    """The report's section from ``bench/profile.py --stages-only`` on the Passway of ``tree``."""
    print("profiling passway-1w by stage (10 s)", flush=True)
    command = [sys.executable, str(BENCH_DIR / "profile.py"), "--stages-only", "--duration", "10"]
    command += ["--connections", str(args.connections), "--src", str(tree)]
    stages = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout
    return ["Where the CPU of a proxied call goes (bench/profile.py):", "", stages.strip(), ""]


def main() -> None:
    args = parse_args()
    ensure_tools()
    if args.profile and find_py_spy() is None:
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    names = [t.strip() for t in args.targets.split(",") if t.strip()]
    started = dt.datetime.now(dt.UTC)
    load_before = os.getloadavg()[0]
    ticks_before = cpu_ticks()
    with tempfile.TemporaryDirectory(prefix="passway-bench-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)  # nginx workers run as an unprivileged user and must read the files
        upload_file = make_files(work / "root")
        upstream = start_upstream(work / "upstream", free_port(), work / "root", 1, False)
        try:
            results, loads = run_all(names, upstream, args, work, upload_file)
        finally:
            upstream.stop()
        profile_section = (
            stage_profile(args, passway_tree(SRC, work, pure=False)) if args.profile else []
        )
    stolen = steal_share(ticks_before, cpu_ticks())
    env = environment()
    title = f"Passway vs nginx, {started:%Y-%m-%d %H:%M} UTC"
    settings = (
        f"{env['cpus']} CPUs ({env['cpu']}), {env['nginx']}, {env['wrk']}, Python {env['python']}. "
        f"Throughput: wrk, {args.wrk_threads} threads, {args.connections} connections, "
        f"{args.duration:g} s. Latency: bench/loadgen.py open loop at {args.rate:g} req/s for "
        f"{args.duration:g} s after {args.warmup:g} s. 100 MB transfers: curl, "
        f"{args.repeats} per round. Median of {args.rounds} interleaved round(s). "
        f"Load average (1 min) before the run {load_before:.1f}, during it "
        f"{min(loads):.1f}-{max(loads):.1f}. CPU time stolen by the hypervisor during the run: "
        f"{stolen:.1f}% (the worst measurement: {worst_steal(results):.0f}%)."
    )
    recording = recording_ratio(results)
    body = "\n".join(
        [
            f"# {title}",
            *([recording, ""] if recording else []),
            "",
            settings,
            "",
            table(results, names, args.rate),
            "",
            "Targets (Passway with N workers against nginx with N workers):",
            "",
            *target_checks(results, names),
            "",
            "Diagnostics:",
            "",
            *diagnostics(results, names),
            "",
            *profile_section,
        ]
    )
    print("\n" + body)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    (args.out / f"{stamp}.md").write_text(body)
    raw = {
        "started": started.isoformat(),
        "environment": env,
        "arguments": {k: str(v) for k, v in vars(args).items()},
        "load": loads,
        "steal_pct": stolen,
        "results": results,
    }
    (args.out / f"{stamp}.json").write_text(json.dumps(raw, indent=2))
    print(f"written: {args.out / (stamp + '.md')} and .json")


if __name__ == "__main__":
    main()
