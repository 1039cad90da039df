"""Where a Passway worker spends its time per proxied request: ``python bench/profile.py``.

Starts the nginx upstream and ``passway serve --workers 1``, drives 1 KB GETs (or 64 KB POSTs) with
wrk at its main port (where the benchmark's ``passway-1w`` gets its proxy calls), and samples the
worker with py-spy (``pip install py-spy`` into the venv; not a Passway dependency). Prints the
hottest functions by own time and by inclusive time, grouped so that the steps of the request path
stand out, then the sampled time by stage of a proxied call (``STAGE_RULES``) as a share and as
microseconds of the worker's CPU per request; keeps the collapsed stacks for a flame graph tool.

``--stages-only`` prints just the stage table (``bench/run.py --profile`` appends it to its report).
Modules compiled with mypyc only show with ``--native`` (their frames are C functions such as
``CPyDef_handler___ProxyHandler_____call__``); it is turned on when the source tree has any.
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import free_port
from nginx import start_upstream
from passway_target import SRC, PasswayServer
from stages import STAGES, StageClassifier, split_frame, waiting
from targets import BENCH_DIR, TOKEN, make_files
from tools import ensure_tools, find_py_spy
from wrk import run_wrk

RATE = 200  # py-spy samples per second

_PASSWAY_PARTS = ("proxy/", "core/", "asgi.py", "store/", "oauth/", "catalog/", "api/", "egress")

Stack = tuple[list[str], int]  # frames, outermost first; samples


def read_stacks(collapsed: Path) -> list[Stack]:
    """py-spy's raw output: one ``frame;frame;... count`` line per distinct stack."""
    stacks = []
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        stacks.append(([f for f in stack.split(";") if f], int(count)))
    return stacks


def _package(frame: str) -> str:
    """``handle (aiohttp/client.py:42)`` -> ``aiohttp``; Passway's own modules -> ``passway``."""
    path = split_frame(frame)[1]
    if path.startswith(("passway/", *_PASSWAY_PARTS)) or path.startswith("__native_"):
        return "passway"
    return path.split("/")[0] if "/" in path else path or frame


def summarize(stacks: list[Stack], top: int) -> str:
    """Own and inclusive sample shares per function, for the event loop's thread."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for frames, count in stacks:
        if any("Thread._bootstrap" in f for f in frames):
            continue  # helper threads (SQLite writers, anyio); the stage table counts them
        total += count
        if frames:
            own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    by_package: collections.Counter[str] = collections.Counter()
    for name, n in own.items():
        by_package[_package(name)] += n
    out = [f"{total} samples of the event loop's thread", "", "own time by package:"]
    out += [f"  {100 * n / total:5.1f}%  {name}" for name, n in by_package.most_common(top)]
    out += ["", "own time:"]
    out += [f"  {100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    out += ["", "inclusive time:"]
    out += [f"  {100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    return "\n".join(out)


@dataclass(frozen=True)
class Measured:
    """The profiled run: wrk's figures and the worker's CPU time (user + system) over it."""

    method: str
    path: str
    connections: int
    port: str  # "main port" or "proxy port"
    seconds: float
    rps: float
    requests: float
    cpu_seconds: float
    native: bool

    @property
    def cpu_us_per_request(self) -> float:
        return 1e6 * self.cpu_seconds / self.requests if self.requests else 0.0


def stage_counts(stacks: list[Stack], classifier: StageClassifier) -> tuple[dict[str, int], int]:
    """Samples per stage (every thread of the worker), and those of waiting threads left out."""
    counts = dict.fromkeys(STAGES, 0)
    idle = 0
    for frames, count in stacks:
        if waiting(frames):
            idle += count
        else:
            counts[classifier.sample_stage(frames)] += count
    return counts, idle


def stage_table(stacks: list[Stack], classifier: StageClassifier, measured: Measured) -> str:
    """Markdown: each stage's share of the sampled time and its microseconds of CPU per request."""
    counts, idle = stage_counts(stacks, classifier)
    total = sum(counts.values()) or 1
    cpu = measured.cpu_us_per_request
    mode = "Python and native frames" if measured.native else "Python frames"
    lines = [
        f"CPU per proxied call by stage: 1 Passway worker, {measured.method} {measured.path} at "
        f"{measured.connections} connections on its {measured.port}, {measured.seconds:g} s, "
        f"{measured.rps:,.0f} req/s while profiled; the worker's CPU (user + system) "
        f"{cpu:,.0f} us per request; py-spy at {RATE}/s ({mode}).",
        "",
        "| stage | share | CPU us per request |",
        "|---|---:|---:|",
    ]
    for stage in STAGES:
        share = counts[stage] / total
        lines.append(f"| {stage} | {100 * share:.1f}% | {share * cpu:,.1f} |")
    lines.append(f"| total | 100.0% | {cpu:,.1f} |")
    sampled = total / RATE
    lines += [
        "",
        f"{total:,} samples of busy threads ({sampled:.1f} s; one ready to run but waiting for a "
        f"CPU counts as busy) for {measured.cpu_seconds:.1f} s of the worker's CPU; {idle:,} "
        "samples of waiting threads left out.",
    ]
    return "\n".join(lines)


def compiled_modules(src: Path) -> list[str]:
    """Passway modules of the tree built as C extensions (``passway/proxy/handler.*.so``)."""
    return sorted(
        ".".join(so.relative_to(src).with_name(so.name.split(".", 1)[0]).parts)
        for so in (src / "passway").rglob("*.so")
    )


def worker_pid(server_pid: int) -> int:
    """The process that serves requests: uvicorn's only child with several workers, else itself."""
    children = psutil.Process(server_pid).children(recursive=True)
    workers = [c for c in children if "multiprocessing" not in " ".join(c.cmdline())]
    return workers[0].pid if workers else server_pid


def process_cpu(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--post", action="store_true", help="64 KB POSTs instead of 1 KB GETs")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument(
        "--proxy-port",
        action="store_true",
        help="proxy calls on a port of their own (PASSWAY_PROXY_PORT) instead of the main port",
    )
    parser.add_argument("--native", action="store_true", help="include C frames (py-spy --native)")
    parser.add_argument("--stages-only", action="store_true", help="print just the stage table")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results")
    parser.add_argument("--src", type=Path, default=SRC, help="source tree (default: src/)")
    return parser.parse_args()


def sample(
    py_spy: str, passway: PasswayServer, args: argparse.Namespace, work: Path, collapsed: Path
) -> Measured:
    """Warm up, then run wrk while py-spy samples the worker; the worker's CPU over the run."""
    path, method, size = ("/sink", "POST", 65536) if args.post else ("/1k.bin", "GET", 0)
    url = passway.proxy_base + path

    def load(duration: float) -> dict[str, float]:
        return run_wrk(
            url,
            method=method,
            headers=passway.headers,
            body_size=size,
            connections=args.connections,
            duration=duration,
            threads=min(2, args.connections),
            workdir=work,
        )

    load(3)
    pid = worker_pid(passway.pid)
    spy = [py_spy, "record", "--pid", str(pid), "--rate", str(RATE), "--format", "raw"]
    spy += ["--duration", f"{round(args.duration)}", "-o", str(collapsed)]
    # Native stacks need the process stopped while they are read.
    spy += ["--native"] if args.native else ["--nonblocking"]
    collapsed.unlink(missing_ok=True)
    cpu_before = process_cpu(pid)
    spy_proc = subprocess.Popen(spy, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    result = load(args.duration)
    cpu = process_cpu(pid) - cpu_before
    output = spy_proc.communicate()[0]
    if spy_proc.returncode or not collapsed.exists():
        raise SystemExit(f"py-spy failed ({spy_proc.returncode}):\n{output}")
    return Measured(
        method=method,
        path=path,
        connections=args.connections,
        port="proxy port" if args.proxy_port else "main port",
        seconds=args.duration,
        rps=result["rps"],
        requests=result["requests"],
        cpu_seconds=cpu,
        native=args.native,
    )


def main() -> None:
    args = parse_args()
    ensure_tools()
    py_spy = find_py_spy()
    if py_spy is None:
        raise SystemExit("py-spy is missing: .venv/bin/pip install py-spy")
    compiled = compiled_modules(args.src)
    if compiled and not args.native:
        print(f"{len(compiled)} compiled modules in {args.src}: --native", file=sys.stderr)
        args.native = True
    with tempfile.TemporaryDirectory(prefix="passway-profile-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)
        make_files(work / "root")
        upstream = start_upstream(work / "upstream", free_port(), work / "root", 1, False)
        passway = PasswayServer(
            work / "passway",
            free_port(),
            1,
            upstream.port,
            TOKEN,
            src=args.src,
            proxy_port=free_port() if args.proxy_port else None,
        )
        try:
            passway.start()
            passway.provision()
            args.out.mkdir(parents=True, exist_ok=True)
            collapsed = args.out / f"profile-{'post' if args.post else 'get'}.txt"
            measured = sample(py_spy, passway, args, work, collapsed)
        finally:
            passway.stop()
            upstream.stop()
    stacks = read_stacks(collapsed)
    stages = stage_table(stacks, StageClassifier(compiled), measured)
    if args.stages_only:
        print(stages)
        return
    print(f"{measured.method} {measured.path}: {measured.rps:,.0f} req/s while profiled")
    print(summarize(stacks, args.top))
    print("\n" + stages)
    print(f"\ncollapsed stacks: {collapsed}")


if __name__ == "__main__":
    main()
