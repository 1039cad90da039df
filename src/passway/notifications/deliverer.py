"""``Deliverer``: the background task (one per worker) that sends the outbox's due deliveries.

At least once: a delivery is marked delivered only after the receiver answered 2xx; a worker killed
in between leaves its lease to run out, and another (or the restarted one) sends it again with the
same ``webhook-id``. Each round leases a batch (``NotificationStore.claim_due``), so with several
workers or instances on one database each delivery goes out from one of them at a time.

Requests go through Passway's guarded HTTP/1.1 client: every resolved address is checked against the
egress policy, redirects are never followed (a 3xx is a failed attempt), and the whole exchange is
bounded by ``timeout``. The destination's extra headers are sent, but cannot replace the signature,
``Content-Type`` or framing headers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from passway.http1.client.pool import Http1Client
from passway.notifications.events import webhook_body
from passway.notifications.retry import RetryPolicy, failure_outcome
from passway.notifications.signing import signature_headers
from passway.store.notifications import Claim, NotificationStore

log = logging.getLogger("passway.notifications")

_RESERVED = frozenset(
    {
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "content-type",
        "content-length",
        "transfer-encoding",
        "host",
        "connection",
    }
)
_MAX_ANSWER = 64 * 1024  # read at most this much of a receiver's answer, then drop the connection


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class DeliveryCounters:
    """Running totals for this worker (a metrics exporter can read them)."""

    attempts: int = 0
    delivered: int = 0
    failed_attempts: int = 0
    gave_up: int = 0
    # Seconds from the event to its delivery, summed over ``delivered`` (mean = sum / delivered).
    latency_seconds_sum: float = 0.0


class Deliverer:
    def __init__(
        self,
        store: NotificationStore,
        client: Http1Client,
        *,
        policy: RetryPolicy,
        timeout: float = 10.0,
        poll_interval: float = 1.0,
        retention_seconds: float = 30 * 86400.0,
        batch: int = 32,
        clock: Callable[[], datetime] = _utcnow,
        rand: Callable[[], float] = random.random,
        user_agent: str = "Passway-Webhooks/1",
    ) -> None:
        self._store = store
        self._client = client
        self._policy = policy
        self._timeout = timeout
        self._poll = poll_interval
        self._batch = batch
        self._clock = clock
        self._rand = rand
        self._user_agent = user_agent
        # A lease outlives the slowest exchange (bounded by ``timeout``) and its recording, so a
        # live deliverer never loses its delivery; a dead one's runs out this long after.
        self._lease = timeout * 2 + 5.0
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self.counters = DeliveryCounters()
        # Called after each attempt with (outcome, seconds): "delivered" or "failed". A hook for
        # metrics; exceptions it raises are logged and ignored.
        # Called with (outcome, attempt seconds, event-to-delivery seconds or None) per attempt.
        self.on_attempt: Callable[[str, float, float | None], None] | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._retention = retention_seconds
        self._next_prune = 0.0

    def start(self) -> None:
        self._store.signal.add(self.wake)
        self._task = asyncio.create_task(self._run(), name="passway-webhook-deliverer")

    def wake(self) -> None:
        self._wake.set()

    async def aclose(self) -> None:
        # The flag ends the loop even if a database driver turned the cancellation into an
        # ordinary error that the loop survives.
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self._prune_now_and_then()
                sent = await self.deliver_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook delivery round failed")
                sent = 0
            if sent or self._stopping:
                continue
            await self._sleep()

    async def _sleep(self) -> None:
        delay = self._poll
        with contextlib.suppress(Exception):
            due = await self._store.next_due_time()
            if due is not None:
                delay = min(delay, max(0.0, (due - self._clock()).total_seconds()))
        if delay <= 0 or self._stopping:
            return
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self._wake.wait()

    async def _prune_now_and_then(self) -> None:
        """Drop finished events past the retention, at most every ten minutes per worker."""
        if time.monotonic() < self._next_prune:
            return
        self._next_prune = time.monotonic() + 600.0
        cutoff = self._clock() - timedelta(seconds=self._retention)
        dropped = await self._store.prune_events(cutoff)
        if dropped:
            log.info("dropped %d notification events older than %s", dropped, cutoff)

    async def deliver_due(self) -> int:
        """One round: lease the due deliveries and send them concurrently. Returns how many.

        Every delivery of the round has ended when this returns or raises, a cancelled round (a
        stop) included: a cancelled delivery may still be finishing its write (database drivers
        close a cancelled statement before giving up), and none may outlive the deliverer and
        touch a store that is being closed. One delivery failing to record its outcome does not
        cut the others short; its lease runs out and it goes out again.
        """
        claims = await self._store.claim_due(self.owner, self._clock(), self._lease, self._batch)
        if claims:
            ended = await asyncio.gather(
                *(self._deliver(claim) for claim in claims), return_exceptions=True
            )
            for result in ended:
                if isinstance(result, Exception):
                    log.error("recording a webhook delivery failed", exc_info=result)
        return len(claims)

    async def _deliver(self, claim: Claim) -> None:
        started = time.monotonic()
        self.counters.attempts += 1
        try:
            status = await self._send(claim)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure of the exchange is a failed attempt
            await self._failed(claim, _describe(exc), None, started)
            return
        if 200 <= status < 300:
            now = self._clock()
            await self._store.record_success(claim, self.owner, now, status)
            self.counters.delivered += 1
            latency = max(0.0, (now - claim.event.create_time).total_seconds())
            self.counters.latency_seconds_sum += latency
            self._observe("delivered", started, latency)
            return
        await self._failed(claim, f"the receiver answered HTTP {status}", status, started)

    async def _failed(self, claim: Claim, error: str, status: int | None, started: float) -> None:
        now = self._clock()
        outcome = failure_outcome(claim, now, self._policy, self._rand(), error, status)
        await self._store.record_failure(claim, self.owner, now, outcome)
        self.counters.failed_attempts += 1
        if outcome.next_attempt_time is None:
            self.counters.gave_up += 1
        log.info(
            "webhook delivery %s to destination %s failed (attempt %d): %s",
            claim.delivery.id,
            claim.destination.id,
            claim.delivery.attempts + 1,
            error,
        )
        self._observe("failed", started, None)

    def _observe(self, outcome: str, started: float, latency: float | None) -> None:
        if self.on_attempt is None:
            return
        try:
            self.on_attempt(outcome, time.monotonic() - started, latency)
        except Exception:
            log.exception("webhook metrics hook failed")

    async def _send(self, claim: Claim) -> int:
        body = webhook_body(claim.event)
        headers = [
            (k, v) for k, v in claim.destination.headers.items() if k.lower() not in _RESERVED
        ]
        if not any(k.lower() == "user-agent" for k, _ in headers):
            headers.append(("User-Agent", self._user_agent))
        headers.append(("Content-Type", "application/json"))
        headers += signature_headers(claim.destination.secret, claim.event.id, self._clock(), body)
        async with asyncio.timeout(self._timeout):
            response = await self._client.request(
                "POST",
                claim.destination.url,
                headers,
                body,
                connect_timeout=self._timeout,
                read_timeout=self._timeout,
            )
            try:
                read = 0
                while read <= _MAX_ANSWER:
                    chunk = await response.read()
                    if not chunk:
                        break
                    read += len(chunk)
            except BaseException:
                response.close()
                raise
            if read > _MAX_ANSWER:
                response.close()
            else:
                response.release()
            return response.status


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:500]
