"""CPU per call at one connection: ``python bench/experiments/one_connection.py [NAME=VALUE ...]``.

Starts the nginx upstream and a 1-worker Passway from ``src/`` (compiled if ``scripts/compile`` was
run, pure Python otherwise) with the given extra environment (e.g. ``PASSWAY_LOG_LEVEL=warning``),
runs ``wrk -t1 -c1`` for 6 s after 2 s of warm-up, and prints the worker's user and system CPU per
request (psutil), how busy it was, and wrk's p50.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

BENCH = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BENCH))

from common import free_port  # noqa: E402
from nginx import start_upstream  # noqa: E402
from passway_target import SRC, PasswayServer  # noqa: E402
from targets import TOKEN, make_files  # noqa: E402
from wrk import _lua  # noqa: E402


def main() -> None:
    env = dict(arg.split("=", 1) for arg in sys.argv[1:])
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        work.chmod(0o755)
        make_files(work / "root")
        upstream = start_upstream(work / "upstream", free_port(), work / "root", 1, False)
        passway = PasswayServer(work / "passway", free_port(), 1, upstream.port, TOKEN, src=SRC)
        passway.extra_env = env
        try:
            passway.start()
            passway.provision()
            script = work / "get.lua"
            script.write_text(_lua("GET", passway.headers, 0))
            wrk = ["wrk", "-t1", "-c1", "--latency", "-s", str(script)]
            url = passway.proxy_base + "/1k.bin"
            subprocess.run([*wrk, "-d2s", url], capture_output=True, check=True)
            process = psutil.Process(passway.pid)
            before, started = process.cpu_times(), time.monotonic()
            out = subprocess.run([*wrk, "-d6s", url], capture_output=True, text=True).stdout
            after, elapsed = process.cpu_times(), time.monotonic() - started
            found = re.search(r"(\d+) requests in", out)
            p50 = re.search(r"50%\s+(\S+)", out)
            requests = int(found.group(1)) if found else 0
            user = (after.user - before.user) / requests * 1e6
            system = (after.system - before.system) / requests * 1e6
            busy = (after.user - before.user + after.system - before.system) / elapsed
            print(
                f"{env or 'shipped defaults'}: {requests} requests, CPU per request {user:.0f} us "
                f"user + {system:.0f} us system, worker busy {busy:.0%}, "
                f"p50 {p50.group(1) if p50 else '?'}"
            )
        finally:
            passway.stop()
            upstream.stop()


if __name__ == "__main__":
    main()
