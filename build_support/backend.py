"""setuptools' build backend, with Passway's runtime dependencies added to the build environment
when the hot path is compiled: mypyc type-checks the code it compiles, so it needs the types of the
libraries that code imports (as hatch-mypyc's ``require-runtime-dependencies`` does)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from setuptools import build_meta
from setuptools.build_meta import *  # noqa: F403 - this module is setuptools' backend, extended

_PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def _runtime_dependencies() -> list[str]:
    if os.environ.get("PASSWAY_PURE_PYTHON", "") not in ("", "0"):
        return []
    project = tomllib.loads(_PYPROJECT.read_text())["project"]
    return list(project.get("dependencies", []))


def get_requires_for_build_wheel(config_settings: dict[str, Any] | None = None) -> list[str]:
    return build_meta.get_requires_for_build_wheel(config_settings) + _runtime_dependencies()


def get_requires_for_build_editable(config_settings: dict[str, Any] | None = None) -> list[str]:
    return build_meta.get_requires_for_build_editable(config_settings) + _runtime_dependencies()
