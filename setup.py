"""The build: Passway's hot path (``passway.compiled.HOT_PATH``) compiled with mypyc when it can be,
plain Python otherwise. Everything else is in ``pyproject.toml``.

- ``PASSWAY_PURE_PYTHON=1`` skips compiling (the development environment does: edits then take
  effect without a rebuild).
- No C compiler, no mypyc, or a failed compile: a warning, and the package is built pure Python.
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


def _warn(message: str) -> None:
    print(f"passway build: {message}; the hot path stays pure Python", file=sys.stderr)


class OptionalBuildExt(build_ext):
    """Compile the extensions, or none of them: a half-built set would fail at import."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # noqa: BLE001 - any compiler failure means pure Python
            _warn(f"compiling failed ({exc})")
            for output in self.get_outputs():
                Path(output).unlink(missing_ok=True)
            self.extensions = []


# The commands that build extensions; the others (the backend asking for requirements or metadata
# with egg_info and dist_info) need none, and may run before the libraries mypyc reads are there.
_BUILDS = {"build", "build_ext", "bdist_wheel", "editable_wheel", "install", "develop"}


def ext_modules() -> list[Any]:
    if os.environ.get("PASSWAY_PURE_PYTHON", "") not in ("", "0"):
        return []
    if not _BUILDS & set(sys.argv[1:]):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        _warn("mypyc is not installed")
        return []
    hot = runpy.run_path(str(ROOT / "src" / "passway" / "compiled.py"))
    os.chdir(ROOT)  # mypyc takes the paths relative to the project
    try:
        return list(mypycify(hot["source_paths"](), opt_level="3"))
    except BaseException as exc:  # noqa: BLE001 - a type error stops mypyc with SystemExit
        _warn(f"mypyc refused the sources ({exc!r})")
        return []


setup(ext_modules=ext_modules(), cmdclass={"build_ext": OptionalBuildExt})
