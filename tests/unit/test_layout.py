"""The import-linter contracts in pyproject.toml hold (no cycle, no arrow up the ladder)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_are_kept() -> None:
    """A new import cycle, an import up the ladder, or the pure core or the HTTP/1.1 packages
    reaching into the application fails here (and in ``./scripts/lint``)."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
