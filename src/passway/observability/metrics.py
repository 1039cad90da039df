"""``Metrics``: Passway's Prometheus metrics, one object per worker built by the composition root.

Names follow OpenTelemetry's HTTP semantic conventions where one exists
(``http_server_request_duration_seconds``, ``http_client_request_duration_seconds``,
``http_server_active_requests``); the rest are ``passway_*``.

**Several workers.** With ``--workers N`` each worker writes its values to files in
``PROMETHEUS_MULTIPROC_DIR`` and a scrape of any worker adds them all up (prometheus-client's
multiprocess mode), so one scrape shows the whole instance. Passway picks that directory itself
(``multiprocess_dir``); nobody has to set it.

**Cost per call.** Nothing on the proxy's path: the background writer of operations
(``passway.operations.recorder``) counts each call from its record, with label children resolved
once per (provider, status class, error code) and cached. Gauges that follow the process (calls in
flight, cache counters) are sampled by that same loop through ``add_sampler``.

Other features add their own metrics on ``registry`` through ``counter``/``gauge``/``histogram``
(names are checked by prometheus-client; in multiprocess mode they are aggregated like these).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from bisect import bisect_left
from collections.abc import Callable, Iterable, MutableMapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Seconds: a cache hit answers in well under a millisecond; a slow provider in many seconds.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_STATUS_CLASSES = {1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}

Sampler = Callable[[], None]


class FinishedCallLike(Protocol):
    """What the metrics count of a finished proxy call (an ``OperationRecord`` is one)."""

    @property
    def provider(self) -> str | None: ...
    @property
    def status(self) -> int: ...
    @property
    def error_code(self) -> str | None: ...
    @property
    def duration_ms(self) -> float: ...
    @property
    def upstream_duration_ms(self) -> float | None: ...


def observe_many(histogram: Histogram, values: Sequence[float]) -> None:
    """``histogram.observe`` for each value, with one increment per touched bucket and one of
    the sum (the same counts: a value falls in the first bucket whose bound is >= it). Falls back
    to one observation each if prometheus-client's histogram no longer has this layout."""
    bounds: Sequence[float] | None = getattr(histogram, "_upper_bounds", None)
    buckets: Sequence[Any] | None = getattr(histogram, "_buckets", None)
    total: Any = getattr(histogram, "_sum", None)
    if bounds is None or buckets is None or total is None or len(bounds) != len(buckets):
        for value in values:
            histogram.observe(value)
        return
    counts = [0] * len(bounds)
    last = len(bounds) - 1
    for value in values:
        counts[min(bisect_left(bounds, value), last)] += 1
    total.inc(sum(values))
    for index, count in enumerate(counts):
        if count:
            buckets[index].inc(count)


def status_class(status: int) -> str:
    return _STATUS_CLASSES.get(status // 100, "other")


def multiprocess_dir(environ: MutableMapping[str, str], workers: int) -> str | None:
    """The directory worker processes share their values in, set in ``environ`` when needed.

    ``passway serve`` makes a fresh one before starting the workers (``fresh_multiprocess_dir``);
    a worker started by ``uvicorn --workers N`` directly finds none and derives it from its
    parent (the supervisor all its sibling workers share). One worker needs none.
    """
    found = environ.get(MULTIPROC_ENV)
    if found:
        Path(found).mkdir(parents=True, exist_ok=True)
        return found
    if workers <= 1:
        return None
    path = Path(tempfile.gettempdir()) / f"passway-metrics-{os.getppid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    environ[MULTIPROC_ENV] = str(path)
    return str(path)


def fresh_multiprocess_dir(environ: MutableMapping[str, str]) -> str:
    """A new, empty directory for one run of ``passway serve`` (removed with ``remove_dir``)."""
    path = tempfile.mkdtemp(prefix="passway-metrics-")
    environ[MULTIPROC_ENV] = path
    return path


def remove_dir(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)


class Metrics:
    """The registry and Passway's own metrics. ``multiprocess_dir`` None: this process only."""

    def __init__(self, multiprocess_dir: str | None = None) -> None:
        self.multiprocess_dir = multiprocess_dir
        if multiprocess_dir is not None:
            os.environ.setdefault(MULTIPROC_ENV, multiprocess_dir)
            # prometheus-client picks its value class when first imported; the directory may
            # have been chosen after that (in this worker's start-up).
            if not getattr(values.ValueClass, "__name__", "").startswith("MmapedValue"):
                values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call] # untyped library function
        self.registry = CollectorRegistry(auto_describe=True)
        self._samplers: list[Sampler] = []
        self._call_children: dict[tuple[str, str, str], tuple[Any, Any]] = {}
        self._client_children: dict[str, Any] = {}

        self.proxy_calls = self.counter(
            "passway_proxy_calls",
            "Proxy calls answered, by provider, status class and Passway error code ('' when the "
            "provider answered).",
            ("provider", "status_class", "error_code"),
        )
        self.server_duration = self.histogram(
            "http_server_request_duration_seconds",
            "Duration of proxy calls, from the request to the end of the answer.",
            ("provider", "status_class"),
        )
        self.client_duration = self.histogram(
            "http_client_request_duration_seconds",
            "Duration of the calls to providers, until their answer's head arrived.",
            ("provider",),
        )
        self.active_requests = self.gauge(
            "http_server_active_requests", "Proxy calls in progress.", mode="livesum"
        )
        self.token_refreshes = self.counter(
            "passway_token_refreshes",
            "OAuth token refreshes, by outcome (success, failure, revoked).",
            ("outcome",),
        )
        self.cache_lookups = self.counter(
            "passway_proxy_cache_lookups",
            "Proxy resolution cache lookups (API keys and installations), by result (hit, miss).",
            ("result",),
        )
        self.operations_dropped = self.counter(
            "passway_operations_dropped",
            "Operation records dropped because the writer's queue was full.",
        )
        self.operations_written = self.counter(
            "passway_operations_written", "Operation records written to the database."
        )
        self.database_up = self.gauge(
            "passway_database_up",
            "1 when the database answered the last attempt, else 0.",
            mode="livemin",
        )
        self.redis_up = self.gauge(
            "passway_redis_up",
            "1 when Redis answered the last attempt, else 0 (absent without Redis).",
            mode="livemin",
        )
        self.webhook_deliveries = self.counter(
            "passway_webhook_deliveries",
            "Webhook delivery attempts, by outcome (delivered, failed).",
            ("outcome",),
        )
        self.webhook_delivery_duration = self.histogram(
            "passway_webhook_delivery_duration_seconds",
            "Duration of one webhook delivery attempt (connect, send, answer), by outcome.",
            ("outcome",),
        )
        self.webhook_delivery_latency = self.histogram(
            "passway_webhook_delivery_latency_seconds",
            "Time from a notification event's commit to its delivery.",
            buckets=(0.1, 0.5, 1, 5, 30, 60, 300, 1800, 3600, 21600, 86400),
        )

    def observe_webhook(self, outcome: str, seconds: float, latency: float | None) -> None:
        """One webhook delivery attempt: its outcome, duration and (delivered) event latency."""
        self.webhook_deliveries.labels(outcome).inc()
        self.webhook_delivery_duration.labels(outcome).observe(seconds)
        if latency is not None:
            self.webhook_delivery_latency.observe(latency)

    # building metrics (for other features too) ---------------------------------------------------
    def counter(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
        return Counter(name, documentation, labels, registry=self.registry)

    def gauge(
        self, name: str, documentation: str, labels: Sequence[str] = (), *, mode: str = "livesum"
    ) -> Gauge:
        return Gauge(
            name,
            documentation,
            labels,
            registry=self.registry,
            multiprocess_mode=mode,  # type: ignore[arg-type] # one of prometheus-client's literal modes
        )

    def histogram(
        self,
        name: str,
        documentation: str,
        labels: Sequence[str] = (),
        buckets: Sequence[float] = DURATION_BUCKETS,
    ) -> Histogram:
        return Histogram(name, documentation, labels, registry=self.registry, buckets=buckets)

    # recording -----------------------------------------------------------------------------------
    def record_calls(self, calls: Iterable[FinishedCallLike]) -> None:
        """Finished proxy calls (the operations writer's, in batches): counted per label set,
        then one increment per counter, bucket and sum, not one per call. In multi-worker mode
        every increment is a locked write to a shared file (7 us a call one by one)."""
        counts: dict[tuple[str, str, str], list[float]] = {}
        upstream: dict[str, list[float]] = {}
        for call in calls:
            name = call.provider or ""
            key = (name, status_class(call.status), call.error_code or "")
            durations = counts.get(key)
            if durations is None:
                durations = counts[key] = []
            durations.append(call.duration_ms / 1000)
            if call.upstream_duration_ms is not None:
                upstream_durations = upstream.get(name)
                if upstream_durations is None:
                    upstream_durations = upstream[name] = []
                upstream_durations.append(call.upstream_duration_ms / 1000)
        for key, durations in counts.items():
            children = self._call_children.get(key)
            if children is None:
                children = (
                    self.proxy_calls.labels(*key),
                    self.server_duration.labels(key[0], key[1]),
                )
                self._call_children[key] = children
            children[0].inc(len(durations))
            observe_many(children[1], durations)
        for name, durations in upstream.items():
            client = self._client_children.get(name)
            if client is None:
                client = self._client_children[name] = self.client_duration.labels(name)
            observe_many(client, durations)

    def add_sampler(self, sampler: Sampler) -> None:
        """``sampler`` is run by the operations writer a few times a second (gauges of state)."""
        self._samplers.append(sampler)

    def sample(self) -> None:
        for sampler in self._samplers:
            sampler()

    # exposition ----------------------------------------------------------------------------------
    def render(self) -> tuple[bytes, str]:
        """The Prometheus text format of this instance (every worker, in multiprocess mode)."""
        if self.multiprocess_dir is None:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=self.multiprocess_dir)  # type: ignore[no-untyped-call] # untyped library function
        return generate_latest(registry), CONTENT_TYPE_LATEST

    def close(self) -> None:
        """This worker is going away: its live gauges stop counting."""
        if self.multiprocess_dir is not None:
            with contextlib.suppress(OSError):
                multiprocess.mark_process_dead(os.getpid(), self.multiprocess_dir)  # type: ignore[no-untyped-call] # untyped library function
