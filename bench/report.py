"""Turn the measurements into the Markdown table (and the target checks) that the run prints."""

from __future__ import annotations

import math
from typing import Any

# (row label, scenario key, metric key, format, higher is better)
ROWS: list[tuple[str, str, str, str, bool]] = [
    ("1 KB GET, req/s at 64 connections", "get_throughput", "rps", "{:,.0f}", True),
    ("64 KB POST, req/s at 64 connections", "post_throughput", "rps", "{:,.0f}", True),
    (
        "1 KB GET, proxy CPU us per request",
        "get_throughput",
        "cpu_us_per_request",
        "{:,.0f}",
        False,
    ),
    (
        "64 KB POST, proxy CPU us per request",
        "post_throughput",
        "cpu_us_per_request",
        "{:,.0f}",
        False,
    ),
    ("1 KB GET at 1 connection, p50 ms", "get_latency_1c", "p50_ms", "{:.2f}", False),
    ("1 KB GET at 1 connection, p99 ms", "get_latency_1c", "p99_ms", "{:.2f}", False),
    ("1 KB GET at {rate}/s, p50 ms", "get_latency", "p50_ms", "{:.2f}", False),
    ("1 KB GET at {rate}/s, p99 ms", "get_latency", "p99_ms", "{:.2f}", False),
    ("64 KB POST at {rate}/s, p50 ms", "post_latency", "p50_ms", "{:.2f}", False),
    ("64 KB POST at {rate}/s, p99 ms", "post_latency", "p99_ms", "{:.2f}", False),
    ("100 MB download, MB/s", "download", "mb_per_s", "{:,.0f}", True),
    ("100 MB upload, MB/s", "upload", "mb_per_s", "{:,.0f}", True),
    ("100 MB download, proxy peak RSS MiB", "download", "rss_peak_mib", "{:.1f}", False),
    ("100 MB download, proxy RSS growth MiB", "download", "rss_growth_mib", "{:.1f}", False),
    ("100 MB upload, proxy peak RSS MiB", "upload", "rss_peak_mib", "{:.1f}", False),
    ("100 MB upload, proxy RSS growth MiB", "upload", "rss_growth_mib", "{:.1f}", False),
]


def _value(results: dict[str, Any], target: str, scenario: str, metric: str) -> float:
    value = results.get(target, {}).get(scenario, {}).get(metric)
    return float(value) if isinstance(value, int | float) else math.nan


def _ratio(results: dict[str, Any], a: str, b: str, scenario: str, metric: str) -> float:
    top, bottom = _value(results, a, scenario, metric), _value(results, b, scenario, metric)
    return top / bottom if bottom else math.nan


def _fmt(value: float, fmt: str) -> str:
    return "n/a" if math.isnan(value) else fmt.format(value)


def pairs(targets: list[str]) -> list[tuple[str, str]]:
    """(passway target, nginx target) with the same worker count, for the ratio columns."""
    found = []
    for target in targets:
        if target.startswith(("passway-", "bare-")):
            twin = "nginx-" + target.partition("@")[0].rsplit("-", 1)[1]
            if twin in targets:
                found.append((target, twin))
    return found


def table(results: dict[str, Any], targets: list[str], rate: float) -> str:
    ratio_pairs = pairs(targets)
    head = ["measure", *targets, *[f"{p}/{n}" for p, n in ratio_pairs]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for label, scenario, metric, fmt, _ in ROWS:
        cells = [label.format(rate=f"{rate:g}")]
        cells += [_fmt(_value(results, t, scenario, metric), fmt) for t in targets]
        for p, n in ratio_pairs:
            # A ratio of two near-zero memory growths says nothing.
            ratio = (
                math.nan if metric == "rss_growth_mib" else _ratio(results, p, n, scenario, metric)
            )
            cells.append(_fmt(ratio, "{:.2f}x"))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def target_checks(results: dict[str, Any], targets: list[str]) -> list[str]:
    """The acceptance targets: >= 25% of nginx's 1 KB GET throughput, <= 3x its p50 latency,
    >= 50% of its streaming throughput."""
    checks = []
    for p, n in pairs(targets):
        for what, scenario, metric, bound, at_least in (
            ("1 KB GET throughput", "get_throughput", "rps", 0.25, True),
            ("1 KB GET p50 latency", "get_latency", "p50_ms", 3.0, False),
            ("64 KB POST p50 latency", "post_latency", "p50_ms", 3.0, False),
            ("100 MB download throughput", "download", "mb_per_s", 0.5, True),
            ("100 MB upload throughput", "upload", "mb_per_s", 0.5, True),
        ):
            ratio = _ratio(results, p, n, scenario, metric)
            ok = ratio >= bound if at_least else ratio <= bound
            sign = ">=" if at_least else "<="
            verdict = "PASS" if ok else "FAIL"
            checks.append(f"- {verdict} {p} {what}: {ratio:.2f}x {n} (target {sign} {bound:g}x)")
    return checks


def diagnostics(results: dict[str, Any], targets: list[str]) -> list[str]:
    """Errors seen, and whether the latency generator kept its schedule."""
    lines = []
    for target in targets:
        for scenario, data in results.get(target, {}).items():
            if not isinstance(data, dict):
                continue
            errors = data.get("errors")
            if errors:
                lines.append(f"- {target} {scenario}: errors {errors}")
            if "send_lag_p99_ms" in data:
                lines.append(
                    f"- {target} {scenario}: generator send lag p99 "
                    f"{data['send_lag_p99_ms']:.2f} ms, CPU {data['generator_cpu_pct']:.0f}%, "
                    f"{data['connections_opened']} connections"
                )
    return lines
