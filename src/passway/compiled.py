"""The proxy's hot path, which a build compiles with mypyc, and whether this process runs it so.

``setup.py`` compiles ``HOT_PATH`` into C extensions (the code is already ``mypy --strict``); when
that is impossible (no C compiler, mypyc missing, ``PASSWAY_PURE_PYTHON=1``) the same modules run as
plain Python, with the same behaviour. Keep this module free of imports from Passway: the build
reads it before Passway is installed.
"""

from __future__ import annotations

import sys

# Per proxied call: the listener, the upstream client, the proxy handler and its pure steps.
HOT_PATH = (
    "passway.http1.server.connection",
    "passway.http1.server.shared",
    "passway.http1.server.call",
    "passway.http1.pieces",
    "passway.http1.client.connection",
    "passway.http1.client.deadlines",
    "passway.http1.client.pool",
    "passway.http1.client.request",
    "passway.http1.client.response",
    "passway.proxy.handler",
    "passway.proxy.body",
    "passway.proxy.upstream",
    "passway.proxy.request",
    "passway.proxy.resolve",
    "passway.proxy.cache",
    "passway.proxy.timeouts",
    "passway.core.headers",
    "passway.core.target",
    "passway.core.credentials",
    "passway.observability.request_ids",
    # After each call, in the operations writer: its log line, metrics and row.
    "passway.operations.recorder",
    "passway.observability.line_format",
)


def source_paths(root: str = "src") -> list[str]:
    """The hot modules' source files, relative to the project (what mypyc is given)."""
    return [f"{root}/{name.replace('.', '/')}.py" for name in HOT_PATH]


def compiled_modules() -> list[str]:
    """The hot modules this process has loaded as compiled extensions."""
    found = []
    for name in HOT_PATH:
        module = sys.modules.get(name)
        path = getattr(module, "__file__", None) or ""
        if path.endswith((".so", ".pyd")):
            found.append(name)
    return found


def build_kind() -> str:
    """``compiled`` when the whole hot path is, ``pure Python`` when none is, else ``mixed``."""
    import importlib

    for name in HOT_PATH:
        importlib.import_module(name)
    count = len(compiled_modules())
    if count == len(HOT_PATH):
        return "compiled"
    return "pure Python" if count == 0 else "mixed"
