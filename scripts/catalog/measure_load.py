#!/usr/bin/env python3
"""Start-up cost of the built-in catalog: load time and memory, all files or the curated one only.

    .venv/bin/python scripts/catalog/measure_load.py            # providers.json + converted
    .venv/bin/python scripts/catalog/measure_load.py --curated  # providers.json only (before)

Prints the providers and aliases loaded, the median wall time of ``load_catalog()`` over several
runs (after a first, untimed one: imports done, files in the page cache), its CPU time (what a busy
machine does not inflate), and the memory the
resulting ``Catalog`` holds (``tracemalloc``: allocated while loading and still alive after).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

from passway.catalog import loader
from passway.core.template_syntax import parse_url_template, template_variables


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--curated", action="store_true", help="load providers.json only")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    if args.curated:
        loader.BUILTIN_FILES = ("providers.json",)
    catalog = loader.load_catalog()
    timings = []
    cpu = []
    for _ in range(args.runs):
        parse_url_template.cache_clear()  # as at start-up: nothing parsed yet
        template_variables.cache_clear()
        start, start_cpu = time.perf_counter(), time.process_time()
        loader.load_catalog()
        timings.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    del catalog
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    catalog = loader.load_catalog()
    gc.collect()
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"providers {len(catalog)}, aliases {len(catalog.aliases)}: "
        f"load_catalog() median {statistics.median(timings) * 1000:.1f} ms "
        f"(min {min(timings) * 1000:.1f}), CPU median {statistics.median(cpu) * 1000:.1f} ms, "
        f"catalog holds {(held - before) / 1024:.0f} KiB, "
        f"peak while loading {(peak - before) / 1024:.0f} KiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
