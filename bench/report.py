"""Turn the measurements into the Markdown table (and the target checks) that the run prints."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
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


def workers(target: str) -> str:
    """``passway-1w``, ``passway-main-2w``, ``passway-1w@new``, ``passway-1w+norec`` -> ``1w``."""
    return target.partition("@")[0].partition("+")[0].rsplit("-", 1)[1]


def pairs(targets: list[str]) -> list[tuple[str, str]]:
    """(passway or bare target, nginx target) with the same worker count, for the ratio columns."""
    found = []
    for target in targets:
        if target.startswith(("passway-", "bare-")):
            twin = "nginx-" + workers(target)
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


@dataclass(frozen=True)
class Goal:
    """One acceptance target: a measure of a Passway target against a bound, either its ratio to
    nginx's with as many workers in the same run, or (``unit`` not ``x``) its own value."""

    what: str
    scenario: str
    metric: str
    sign: str  # ">=", "<=" or "<"
    bound: float
    only_workers: str | None = None  # "1w", "2w": for that worker count only; None: every target
    unit: str = "x"


GOALS = [
    Goal("1 KB GET throughput at 64 connections", "get_throughput", "rps", ">=", 0.3, "1w"),
    Goal("1 KB GET throughput at 64 connections", "get_throughput", "rps", ">=", 0.5, "2w"),
    Goal("1 KB GET p50 latency at 1 connection", "get_latency_1c", "p50_ms", "<=", 2.0, "2w"),
    # At or above nginx's rate, with resident memory flat while the 100 MB go through.
    Goal("100 MB download throughput", "download", "mb_per_s", ">=", 1.0),
    Goal("100 MB upload throughput", "upload", "mb_per_s", ">=", 1.0),
    Goal("100 MB download RSS growth", "download", "rss_growth_mib", "<", 64.0, unit=" MiB"),
    Goal("100 MB upload RSS growth", "upload", "rss_growth_mib", "<", 64.0, unit=" MiB"),
]

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "<": operator.lt,
}


def _check(results: dict[str, Any], target: str, twin: str, goal: Goal) -> str:
    """One line: PASS or FAIL (``info`` for the bare proxy, which has no target of its own)."""
    if goal.unit == "x":
        value = _ratio(results, target, twin, goal.scenario, goal.metric)
        shown = f"{value:.2f}x {twin}"
    else:
        value = _value(results, target, goal.scenario, goal.metric)
        shown = f"{value:.1f}{goal.unit}"
    bare = target.startswith("bare-")
    whose = "Passway's target" if bare else "target"
    bound = f"{whose} {goal.sign} {goal.bound:g}{goal.unit}"
    if math.isnan(value):
        return f"- n/a {target} {goal.what}: not measured in this run ({bound})"
    if bare:
        return f"- info {target} {goal.what}: {shown} ({bound})"
    verdict = "PASS" if _COMPARE[goal.sign](value, goal.bound) else "FAIL"
    return f"- {verdict} {target} {goal.what}: {shown} ({bound})"


def target_checks(results: dict[str, Any], targets: list[str]) -> list[str]:
    """The performance targets, each Passway target against nginx with as many workers: 1 KB GET
    throughput >= 0.3x with 1 worker, >= 0.5x with 2 and a p50 at one connection <= 2x; for every
    one, 100 MB download and upload at or above nginx's rate with RSS growth under 64 MiB. The bare
    proxy's lines show the same measures without a verdict."""
    return [
        _check(results, target, twin, goal)
        for target, twin in pairs(targets)
        for goal in GOALS
        if goal.only_workers in (None, workers(target))
    ]


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
