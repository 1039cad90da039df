"""Install what the benchmark needs (nginx, wrk, curl) with apt-get when it is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

# Binary name -> Debian package that provides it. nginx-light is enough: it has the upstream
# keep-alive and mirror modules the benchmark uses.
REQUIRED = {"nginx": "nginx-light", "wrk": "wrk", "curl": "curl"}


def _which(binary: str) -> str | None:
    return shutil.which(binary) or next(
        (p for p in (f"/usr/sbin/{binary}", f"/usr/bin/{binary}") if os.access(p, os.X_OK)), None
    )


def ensure_tools() -> dict[str, str]:
    """Return binary paths, installing missing ones through apt-get (needs root)."""
    missing = [pkg for binary, pkg in REQUIRED.items() if _which(binary) is None]
    if missing:
        if os.geteuid() != 0:
            raise SystemExit(f"missing {', '.join(missing)}: install them (apt-get install ...)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        print(f"installing {' '.join(missing)} with apt-get ...", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
    paths = {binary: _which(binary) for binary in REQUIRED}
    absent = [binary for binary, path in paths.items() if path is None]
    if absent:
        raise SystemExit(f"still missing after install: {', '.join(absent)}")
    return {binary: str(path) for binary, path in paths.items()}


def find_py_spy() -> str | None:
    """py-spy (for the profiles) on the PATH or next to this Python, if it is installed."""
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return found if os.access(found, os.X_OK) else None
