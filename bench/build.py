"""The Passway a user installs, for the benchmark: the checkout's sources with the hot path
compiled by mypyc (what ``pip install`` builds), made once per run in a scratch copy; and the same
sources as plain Python (the fallback), for the ``+pure`` targets."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_BUILD_FILES = ("setup.py", "pyproject.toml", "README.md")
_SKIP = shutil.ignore_patterns("*.so", "__pycache__", "*.egg-info")


def _copy_sources(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest / "src", ignore=_SKIP)
    return dest / "src"


def build_kind(tree: Path) -> str:
    """``compiled``, ``pure Python`` or ``mixed``, as the tree's own ``passway.compiled`` says."""
    code = "from passway.compiled import build_kind; print(build_kind())"
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def pure_tree(src: Path, work: Path) -> Path:
    """A copy of ``src`` without any compiled module."""
    return _copy_sources(src, work)


def compiled_tree(src: Path, work: Path) -> Path:
    """A copy of ``src`` with the hot path compiled in place (about a minute)."""
    for name in _BUILD_FILES:
        shutil.copy2(ROOT / name, work / name)
    shutil.copytree(ROOT / "build_support", work / "build_support")
    tree = _copy_sources(src, work)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "setuptools>=77", "mypy>=1.11"],
        check=True,
    )
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PASSWAY_PURE_PYTHON")}
    subprocess.run(
        [sys.executable, "setup.py", "--quiet", "build_ext", "--inplace"],
        cwd=work,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    kind = build_kind(tree)
    if kind != "compiled":
        raise RuntimeError(f"the hot path did not compile ({kind}); see the build output above")
    return tree
