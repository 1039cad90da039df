"""Generate the synchronous client (``_sync/``) from the asynchronous one (``_async/``).

The management client is written once, async; the sync twin is the same code with ``async``,
``await`` and the async names removed (the approach of httpcore's ``unasync``), then formatted with
ruff. Run ``python clients/python/unasync.py`` after editing ``_async/``; ``--check`` exits 1 when a
generated file is stale (the client's tests run it).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent / "src" / "passway_client"
SOURCES = ("client.py", "resources.py")
HEADER = (
    "# Generated from passway_client/_async/{name} by clients/python/unasync.py; do not edit.\n"
)

SUBSTITUTIONS = (
    ("passway_client._async", "passway_client._sync"),
    ("passway_client/_async/", "passway_client/_sync/"),
    ("AsyncPassway", "Passway"),
    ("AsyncTransport", "Transport"),
    ("AsyncIterator", "Iterator"),
    ("httpx.AsyncClient", "httpx.Client"),
    ("async_proxy_client", "proxy_client"),
    ("__aenter__", "__enter__"),
    ("__aexit__", "__exit__"),
    ("aclose", "close"),
    ("aread", "read"),
    ("async def ", "def "),
    ("async with ", "with "),
    ("async for ", "for "),
    ("await ", ""),
)
# The source docstrings say which file is generated from which; the generated ones say so too.
DOC_FIXES = (
    (
        "This file is the source: ``passway_client/_sync/client.py`` (``Passway``) is generated"
        " from it by\n``clients/python/unasync.py``.",
        "Generated from ``passway_client/_async/client.py`` (``AsyncPassway``).",
    ),
    (
        "This file is\nthe source: ``passway_client/_sync/resources.py`` is generated from it"
        " (``unasync.py``).",
        "Generated from\n``passway_client/_async/resources.py``.",
    ),
)


# An async generator cannot ``yield from``; its sync twin can.
YIELD_EACH = re.compile(r"for (\w+) in (.+):\n\s+yield \1\n")


def unasync(text: str) -> str:
    for old, new in SUBSTITUTIONS:
        text = re.sub(rf"\b{re.escape(old)}" if old[0].isalpha() else re.escape(old), new, text)
    text = YIELD_EACH.sub(r"yield from \2\n", text)
    for old, new in DOC_FIXES:
        text = text.replace(old, new)
    return text


def formatted(text: str, target: Path) -> str:
    """``text`` as ``ruff format`` leaves it (with the repository's settings) at ``target``."""
    root = PACKAGE.parents[3]
    done = subprocess.run(  # noqa: S603 - a fixed command: this interpreter's ruff
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(target), "-"],
        input=text.encode(),
        capture_output=True,
        check=True,
        cwd=root,
    )
    return done.stdout.decode()


def generated() -> dict[Path, str]:
    out = {}
    for name in SOURCES:
        source = (PACKAGE / "_async" / name).read_text("utf-8")
        target = PACKAGE / "_sync" / name
        out[target] = formatted(HEADER.format(name=name) + unasync(source), target)
    return out


def main(argv: list[str]) -> int:
    stale = [path for path, text in generated().items() if path.read_text("utf-8") != text]
    if "--check" in argv:
        for path in stale:
            print(f"{path} is stale: run python clients/python/unasync.py", file=sys.stderr)
        return 1 if stale else 0
    for path, text in generated().items():
        path.write_text(text, "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
