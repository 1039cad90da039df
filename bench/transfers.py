"""Large transfers (100 MB down and up) with curl, sampling the proxy's resident memory."""

from __future__ import annotations

import statistics
import subprocess
from pathlib import Path

from common import RssSampler


def _curl(args: list[str]) -> tuple[float, int, int]:
    out = subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", "--http1.1", "-H", "Expect:", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    # speed (bytes/s), bytes moved, HTTP status
    return float(out[0]), int(float(out[1])), int(out[2])


def run_transfers(
    url: str,
    *,
    direction: str,
    headers: dict[str, str],
    size: int,
    repeats: int,
    upload_file: Path,
    proxy_pid: int | None,
) -> dict[str, float]:
    """Median MB/s over ``repeats`` sequential transfers, and the proxy tree's peak RSS growth."""
    header_args = [arg for name, value in headers.items() for arg in ("-H", f"{name}: {value}")]
    if direction == "download":
        args = [*header_args, "-w", "%{speed_download} %{size_download} %{http_code}", url]
    else:
        args = [
            *header_args,
            "-H",
            "Content-Type: application/octet-stream",
            "-T",
            str(upload_file),
            "-X",
            "POST",
            "-w",
            "%{speed_upload} %{size_upload} %{http_code}",
            url,
        ]
    speeds: list[float] = []
    sampler = RssSampler(proxy_pid) if proxy_pid else None
    if sampler:
        sampler.__enter__()
    try:
        for _ in range(repeats):
            speed, moved, status = _curl(args)
            if status != 200 or moved != size:
                raise RuntimeError(f"{direction} via {url}: HTTP {status}, {moved} of {size} bytes")
            speeds.append(speed)
    finally:
        if sampler:
            sampler.__exit__(None, None, None)
    result = {"mb_per_s": statistics.median(speeds) / 1e6}
    if sampler:
        result["rss_base_mib"] = sampler.baseline / 2**20
        result["rss_peak_mib"] = sampler.peak / 2**20
        result["rss_growth_mib"] = (sampler.peak - sampler.baseline) / 2**20
    return result
