"""Where a Passway worker spends its time per proxied request: ``python bench/profile.py``.

Starts the nginx upstream and ``passway serve --workers 1``, drives 1 KB GETs (or 64 KB POSTs) with
wrk, and samples the worker with py-spy (``pip install py-spy`` into the venv; not a Passway
dependency). Prints the hottest functions by own time and by inclusive time, grouped so that the
steps of the request path stand out, and keeps the collapsed stacks for a flame graph tool.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import free_port
from nginx import start_upstream
from passway_target import SRC, PasswayServer
from run import BENCH_DIR, TOKEN, make_files
from tools import ensure_tools
from wrk import run_wrk

_PASSWAY_PARTS = ("proxy/", "core/", "asgi.py", "store/", "oauth/", "catalog/", "api/", "egress")


def _package(frame: str) -> str:
    """``handle (aiohttp/client.py:42)`` -> ``aiohttp``; Passway's own modules -> ``passway``."""
    location = frame.rpartition("(")[2].rstrip(")")
    path = location.rpartition(":")[0]
    if path.startswith(_PASSWAY_PARTS):
        return "passway"
    return path.split("/")[0] if "/" in path else path or frame


def summarize(collapsed: Path, top: int) -> str:
    """Own and inclusive sample shares per function from py-spy's collapsed stacks."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = [f for f in stack.split(";") if f]
        if any("Thread._bootstrap" in f for f in frames):
            continue  # idle helper threads (aiosqlite, anyio); the event loop is what matters
        total += count
        if frames:
            own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    by_package: collections.Counter[str] = collections.Counter()
    for name, n in own.items():
        by_package[_package(name)] += n
    out = [f"{total} samples", "", "own time by package:"]
    out += [f"  {100 * n / total:5.1f}%  {name}" for name, n in by_package.most_common(top)]
    out += ["", "own time:"]
    out += [f"  {100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    out += ["", "inclusive time:"]
    out += [f"  {100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top)]
    return "\n".join(out)


def worker_pid(server_pid: int) -> int:
    """The process that serves requests: uvicorn's only child with several workers, else itself."""
    import psutil

    children = psutil.Process(server_pid).children(recursive=True)
    workers = [c for c in children if "multiprocessing" not in " ".join(c.cmdline())]
    return workers[0].pid if workers else server_pid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--post", action="store_true", help="64 KB POSTs instead of 1 KB GETs")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument(
        "--main-port", action="store_true", help="proxy calls on the main port (uvicorn)"
    )
    parser.add_argument("--native", action="store_true", help="include C frames (py-spy --native)")
    parser.add_argument("--out", type=Path, default=BENCH_DIR / "results")
    parser.add_argument("--src", type=Path, default=SRC, help="source tree (default: src/)")
    args = parser.parse_args()
    ensure_tools()
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        raise SystemExit("py-spy is missing: .venv/bin/pip install py-spy")
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
            proxy_port=None if args.main_port else free_port(),
        )
        try:
            passway.start()
            passway.provision()
            base = passway.proxy_base
            path, method, size = ("/sink", "POST", 65536) if args.post else ("/1k.bin", "GET", 0)
            load = dict(
                method=method,
                headers=passway.headers,
                body_size=size,
                connections=args.connections,
                threads=2,
                workdir=work,
            )
            run_wrk(base + path, duration=3, **load)
            args.out.mkdir(parents=True, exist_ok=True)
            kind = "post" if args.post else "get"
            collapsed = args.out / f"profile-{kind}.txt"
            target = str(worker_pid(passway.pid))
            spy = ["record", "--pid", target, "--rate", "200", "--duration"]
            spy += [f"{int(args.duration)}", "--nonblocking"]
            spy += ["--native"] if args.native else []
            spy_proc = subprocess.Popen([py_spy, *spy, "--format", "raw", "-o", str(collapsed)])
            result: dict[str, float] = {}
            thread = threading.Thread(
                target=lambda: result.update(run_wrk(base + path, duration=args.duration, **load))
            )
            thread.start()
            thread.join()
            spy_proc.wait()
            print(f"{method} {path}: {result.get('rps', 0):,.0f} req/s while profiled")
            print(summarize(collapsed, args.top))
            print(f"collapsed stacks: {collapsed}")
        finally:
            passway.stop()
            upstream.stop()


if __name__ == "__main__":
    main()
