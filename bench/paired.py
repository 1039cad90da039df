"""Paired A/B of two Passway source trees on a noisy machine: ``python bench/paired.py``.

``bench/run.py --src`` measures each target for 10 s per round, a few rounds apart; on a shared
2-CPU host whose stolen time swings by 20% from one minute to the next, a 5-10% change drowns in
that (CPU per call of one build ranged 169-270 µs over six rounds of one such run). Here both
builds stay up side by side and wrk alternates between them in short slices, the order reversed
every pair (A B, B A, A B, ...), so that whatever the host does hits both alike; each pair gives a
ratio, and the median of the ratios is the answer (the per-pair list shows how consistent it is).

    bench/paired.py --src new=src --src old=/tmp/base/src               # 64 connections
    bench/paired.py --src new=src --src old=/tmp/base/src --connections 1

A source tree is a ``src`` directory (``git archive <commit> src | tar -x -C DIR`` makes one of a
commit, as for ``run.py --src``); both are compiled with mypyc as ``pip install`` builds them.
Measured per slice: the Passway process tree's CPU time per request, requests per second, and
wrk's p50. Needs nginx and wrk (``run.py`` installs them).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from build import compiled_tree
from common import free_port, tree_cpu
from nginx import start_upstream
from passway_target import PasswayServer
from targets import TOKEN, make_files
from tools import ensure_tools
from wrk import run_wrk

# key, title, format of the medians
MEASURES = (
    ("cpu_us", "CPU µs per request", ",.0f"),
    ("rps", "requests/s", ",.0f"),
    ("p50_ms", "wrk p50 ms", ".3f"),
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--src",
        action="append",
        required=True,
        type=lambda text: tuple(text.split("=", 1)),
        metavar="LABEL=DIR",
        help="exactly two: the first is compared to the second",
    )
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--pairs", type=int, default=16)
    parser.add_argument("--slice", type=float, default=3.0, help="seconds of load per slice")
    args = parser.parse_args()
    if len(args.src) != 2:
        parser.error("give --src twice")
    return args


def measure(
    server: PasswayServer, args: argparse.Namespace, work: Path, seconds: float
) -> dict[str, float]:
    """One slice of ``seconds`` of load on ``server``."""
    before = tree_cpu(server.pid)
    result = run_wrk(
        server.proxy_base + "/1k.bin",
        method="GET",
        headers=server.headers,
        body_size=0,
        connections=args.connections,
        duration=seconds,
        threads=min(2, args.connections),
        workdir=work,
    )
    cpu = tree_cpu(server.pid) - before
    requests = max(result["requests"], 1.0)
    return {"cpu_us": cpu / requests * 1e6, "rps": result["rps"], "p50_ms": result["wrk_p50_ms"]}


def report(labels: list[str], slices: dict[str, list[dict[str, float]]]) -> str:
    first, second = labels
    lines = [
        f"| measure | {first} | {second} | {first}/{second}, median of pairs | pairs below 1 |",
        "|---|---|---|---|---|",
    ]
    for key, title, shown in MEASURES:
        a = [s[key] for s in slices[first]]
        b = [s[key] for s in slices[second]]
        ratios = [x / y for x, y in zip(a, b, strict=True) if y]
        below = sum(r < 1 for r in ratios)
        lines.append(
            f"| {title} | {statistics.median(a):{shown}} | {statistics.median(b):{shown}} "
            f"| {statistics.median(ratios):.3f} | {below} of {len(ratios)} |"
        )
        lines.append(f"|  | ratios: {' '.join(f'{r:.2f}' for r in ratios)} | | | |")
    return "\n".join(lines)


def main() -> None:
    args = parse_args()
    ensure_tools()
    labels = [label for label, _ in args.src]
    with tempfile.TemporaryDirectory(prefix="passway-paired-") as tmp:
        work = Path(tmp)
        work.chmod(0o755)
        make_files(work / "root")
        upstream = start_upstream(work / "upstream", free_port(), work / "root", 1, False)
        servers: dict[str, PasswayServer] = {}
        try:
            for label, src in args.src:
                (work / f"tree-{label}").mkdir()
                tree = compiled_tree(Path(src).resolve(), work / f"tree-{label}")
                server = PasswayServer(
                    work / f"passway-{label}", free_port(), args.workers, upstream.port, TOKEN,
                    src=tree, proxy_port=None,
                )  # fmt: skip
                server.start()
                server.provision()
                servers[label] = server
            for server in servers.values():
                measure(server, args, work, 3.0)  # warm-up
            slices: dict[str, list[dict[str, float]]] = {label: [] for label in labels}
            for pair in range(args.pairs):
                for label in labels if pair % 2 == 0 else labels[::-1]:
                    slices[label].append(measure(servers[label], args, work, args.slice))
        finally:
            for server in servers.values():
                server.stop()
            upstream.stop()
    print(
        f"{args.workers} worker(s), 1 KB GET at {args.connections} connection(s), "
        f"{args.pairs} pairs of {args.slice:g} s slices, order alternating\n"
    )
    print(report(labels, slices))


if __name__ == "__main__":
    main()
