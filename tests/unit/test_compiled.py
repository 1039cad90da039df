"""The hot path runs whole: all of it compiled by mypyc, or all of it pure Python, never a mix.
``PASSWAY_EXPECT_COMPILED=1`` (CI's second pass over the suite) requires the compiled build."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from passway.compiled import HOT_PATH, build_kind, compiled_modules, source_paths

ROOT = Path(__file__).resolve().parents[2]


def test_the_hot_path_is_all_compiled_or_all_pure() -> None:
    kind = build_kind()
    assert kind in ("compiled", "pure Python"), compiled_modules()
    if os.environ.get("PASSWAY_EXPECT_COMPILED") == "1":
        assert kind == "compiled"


def test_every_hot_module_has_a_source_file() -> None:
    for path in source_paths(str(ROOT / "src")):
        assert Path(path).is_file(), path
    assert len(set(HOT_PATH)) == len(HOT_PATH)


@pytest.mark.slow
def test_a_failed_compile_builds_pure_python(tmp_path: Path) -> None:
    """No usable C compiler: the build warns and leaves no extension behind (a half-built set
    would fail at import)."""
    if os.environ.get("PASSWAY_TEST_SLOW") != "1":
        pytest.skip("set PASSWAY_TEST_SLOW=1")
    pytest.importorskip("mypyc")
    copy = tmp_path / "project"
    shutil.copytree(
        ROOT,
        copy,
        ignore=shutil.ignore_patterns(
            ".venv", ".git", "build", "tests", "bench", "clients", "*.so", "__pycache__"
        ),
    )
    env = {**os.environ, "CC": "false", "LDSHARED": "false"}
    env.pop("PASSWAY_PURE_PYTHON", None)
    done = subprocess.run(
        [sys.executable, "setup.py", "--quiet", "build_ext", "--inplace"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "compiling failed" in done.stderr
    assert "the hot path stays pure Python" in done.stderr
    assert not list((copy / "src").rglob("*.so"))
