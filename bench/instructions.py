"""Instructions per proxy call, counted by callgrind: ``python bench/instructions.py``.

CPU time per call on a shared 2-CPU host moves by a fifth between minutes, so a change worth a few
microseconds cannot be seen in it, even paired (``bench/paired.py``). Valgrind's callgrind counts
the instructions a process executes instead: the same build, doing the same calls, gives the same
count whatever else the machine is doing. It counts user space only (the system calls' kernel
work is not in it) and knows nothing of cache misses, so it is the measure for changes to
Passway's own per-call work, not for the whole of a call's cost.

    bench/instructions.py                                   # src/ as it is (scripts/compile first)
    bench/instructions.py --src new=src --src old=/tmp/base/src --build   # an A/B, both compiled
    bench/instructions.py --annotate 40                     # and the 40 costliest functions

Each tree runs as a 1-worker ``passway serve`` under callgrind, set up as in ``bench/run.py``
(shipped defaults: recording, metrics and the line per call on), behind the nginx upstream. One
client sends 1 KB GETs with the full proxy headers on one keep-alive connection, one at a time:
``--warmup`` calls, then ``--calls`` counted calls between two callgrind dumps. Printed: the
instructions per call (all of the process's threads: the event loop's and the operations
writer's) and, with ``--keep``, where the dump was kept, for ``callgrind_annotate``.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from build import compiled_tree
from common import free_port
from loadgen import Connection, build_request
from nginx import start_upstream
from passway_target import SRC, PasswayServer
from targets import TOKEN, make_files
from tools import ensure_tools


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--src",
        action="append",
        type=lambda text: tuple(text.split("=", 1)),
        metavar="LABEL=DIR",
        help="a source tree to count (repeatable; default: this checkout's src as it is)",
    )
    parser.add_argument(
        "--build", action="store_true", help="compile each tree with mypyc first, in a copy"
    )
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=500)
    parser.add_argument(
        "--annotate", type=int, default=0, metavar="N", help="print top N functions"
    )
    parser.add_argument("--keep", type=Path, help="copy the callgrind dumps into this directory")
    return parser.parse_args()


class Caller:
    """One keep-alive connection sending the same GET, one at a time (``loadgen``'s connection)."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self._loop = asyncio.new_event_loop()
        lines = [f"{name}: {value}" for name, value in headers.items()]
        self._request = build_request("GET", f"127.0.0.1:{port}", "/1k.bin", lines, b"")
        reader, writer = self._loop.run_until_complete(asyncio.open_connection("127.0.0.1", port))
        self._connection = Connection(reader, writer)

    def call(self) -> None:
        status = self._loop.run_until_complete(self._connection.exchange(self._request))
        if status != 200:
            raise RuntimeError(f"proxy call answered {status}")

    def close(self) -> None:
        self._connection.writer.close()
        self._loop.close()


def dump(pid: int, out: Path, caller: Caller) -> Path:
    """Ask callgrind to dump (and zero) its counters; calls go on until it has, since valgrind
    reads its command file only while the process runs. Returns the new dump file."""
    before = set(out.parent.glob(out.name + ".*"))
    subprocess.run(["callgrind_control", "--dump", str(pid)], capture_output=True, timeout=120)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        new = set(out.parent.glob(out.name + ".*")) - before
        if new:
            time.sleep(0.5)  # let it finish writing
            return new.pop()
        caller.call()
        time.sleep(0.05)
    raise TimeoutError("callgrind did not dump")


def total_instructions(dump_file: Path) -> int:
    for line in dump_file.read_text().splitlines():
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    raise RuntimeError(f"no totals in {dump_file}")


def count(
    label: str, tree: Path, work: Path, upstream_port: int, args: argparse.Namespace
) -> tuple[float, Path]:
    out = work / f"callgrind-{label}.out"
    server = PasswayServer(
        work / f"passway-{label}", free_port(), 1, upstream_port, TOKEN, src=tree,
        extra_env={"PYTHONHASHSEED": "0"},
        wrapper=["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--quiet"],
        start_timeout=600,
    )  # fmt: skip
    server.start()
    try:
        server.provision()
        caller = Caller(server.port, server.headers)
        for _ in range(args.warmup):
            caller.call()
        dump(server.pid, out, caller)  # everything up to here, start-up included, goes
        for _ in range(args.calls):
            caller.call()
        measured = dump(server.pid, out, caller)
        caller.close()
    finally:
        server.stop()
    return total_instructions(measured) / args.calls, measured


def main() -> None:
    args = parse_args()
    ensure_tools()
    if shutil.which("valgrind") is None:
        subprocess.run(["apt-get", "install", "-y", "valgrind"], check=True, capture_output=True)
    sources = args.src or [("src", str(SRC))]
    results: list[tuple[str, float, Path]] = []
    with tempfile.TemporaryDirectory(prefix="passway-instructions-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)
        make_files(work / "root")
        upstream = start_upstream(work / "upstream", free_port(), work / "root", 1, False)
        try:
            for label, src in sources:
                tree = Path(src).resolve()
                if args.build:
                    (work / f"tree-{label}").mkdir()
                    tree = compiled_tree(tree, work / f"tree-{label}")
                per_call, dump_file = count(label, tree, work, upstream.port, args)
                if args.keep:
                    args.keep.mkdir(parents=True, exist_ok=True)
                    dump_file = Path(shutil.copy2(dump_file, args.keep / f"callgrind-{label}.out"))
                results.append((label, per_call, dump_file))
                kept = f" ({dump_file})" if args.keep else ""
                print(f"{label}: {per_call:,.0f} instructions per call{kept}", flush=True)
                if args.annotate:
                    annotated = subprocess.run(
                        ["callgrind_annotate", "--inclusive=no", str(dump_file)],
                        capture_output=True, text=True, check=True,
                    ).stdout  # fmt: skip
                    print("\n".join(annotated.splitlines()[: args.annotate + 20]))
        finally:
            upstream.stop()
    if len(results) > 1:
        base = results[-1]
        for label, per_call, _ in results[:-1]:
            print(f"{label}/{base[0]}: {per_call / base[1]:.4f}")


if __name__ == "__main__":
    main()
