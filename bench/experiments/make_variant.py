"""A patched copy of ``src/`` for an A/B run: ``python bench/experiments/make_variant.py NAME DIR``.

Each variant changes one thing, to measure what it costs or buys per request; run it beside the
unchanged code with ``bench/run.py --targets passway-1w@base,passway-1w@NAME --src base=...``.

- ``base``: unchanged copy.
- ``gcfreeze``: ``gc.collect(); gc.freeze()`` at the end of start-up.
- ``nowatch``: no per-request disconnect-watcher task (incorrect; measures the task's cost).
- ``nocheck``: no per-request scan of the credential for forbidden characters.
- ``lean``: the minimal upstream client of ``lean_client.py`` instead of aiohttp's.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _patch(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    if old not in text:
        raise SystemExit(f"{path}: the code to patch has changed; update make_variant.py")
    path.write_text(text.replace(old, new, 1))


def main() -> None:
    name, target = sys.argv[1], Path(sys.argv[2])
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(ROOT / "src", target)
    pkg = target / "passway"
    if name == "gcfreeze":
        old = "        self._stack = stack\n"
        _patch(
            pkg / "asgi.py",
            old,
            old + "        import gc\n\n        gc.collect()\n        gc.freeze()\n",
        )
    elif name == "nowatch":
        _patch(
            pkg / "proxy" / "handler.py",
            "asyncio.create_task(self._watch_disconnect(body, task, exchange))",
            "asyncio.get_running_loop().create_future()",
        )
    elif name == "nocheck":
        _patch(
            pkg / "core" / "credentials.py",
            "    if any(char in value for char in _FORBIDDEN_IN_HEADER):",
            "    if False:",
        )
    elif name == "lean":
        shutil.copy(Path(__file__).parent / "lean_client.py", pkg / "proxy" / "lean_client.py")
        _patch(
            pkg / "proxy" / "handler.py",
            "from passway.proxy.upstream import "
            "Body, UpstreamAborted, open_upstream, relay_response",
            "from passway.proxy.upstream import Body, UpstreamAborted, relay_response\n"
            "from passway.proxy.lean_client import open_lean as open_upstream",
        )
    elif name != "base":
        raise SystemExit(f"unknown variant {name}")


if __name__ == "__main__":
    main()
