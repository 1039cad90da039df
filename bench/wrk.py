"""Closed-loop throughput at fixed concurrency with ``wrk``; parses its summary."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path


def _lua(method: str, headers: dict[str, str], body_size: int) -> str:
    lines = [f'wrk.method = "{method}"']
    for name, value in headers.items():
        lines.append(f'wrk.headers["{name}"] = "{value}"')
    if body_size:
        lines.append(f'wrk.body = string.rep("x", {body_size})')
        lines.append('wrk.headers["Content-Type"] = "application/octet-stream"')
    return "\n".join(lines) + "\n"


def run_wrk(
    url: str,
    *,
    method: str,
    headers: dict[str, str],
    body_size: int,
    connections: int,
    duration: float,
    threads: int,
    workdir: Path,
) -> dict[str, float]:
    """Run wrk once: requests/s, errors (socket errors and non-2xx/3xx) and wrk's latencies."""
    script = workdir / f"wrk-{method.lower()}-{body_size}.lua"
    script.write_text(_lua(method, headers, body_size))
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration:g}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = int(non2xx.group(1)) if non2xx else 0
    if sock:
        errors += sum(int(g) for g in sock.groups())
    result = {
        "rps": float(rps.group(1)) if rps else 0.0,
        "requests": float(total.group(1)) if total else 0.0,
        "errors": float(errors),
    }
    for pct in ("50", "99"):
        lat = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        if lat:
            scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[lat.group(2)]
            result[f"wrk_p{pct}_ms"] = float(lat.group(1)) * scale
    return result
