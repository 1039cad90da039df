"""When to try a failed delivery again, when to give up, when to disable a destination (pure).

Backoff doubles from ``base`` up to ``cap``, with "equal jitter" (half fixed, half random), so many
deliveries failing together do not come back together. A delivery is retried for ``window`` from
its event (or from an operator's redelivery); a destination whose every attempt failed for longer
than ``window`` is disabled, with a ``destination.webhook.disabled`` event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from passway.notifications.events import destination_disabled
from passway.store.notifications import Claim, Failure


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base_seconds: float = 5.0
    cap_seconds: float = 3600.0
    window_seconds: float = 24 * 3600.0


def backoff_seconds(attempts: int, policy: RetryPolicy, rand: float) -> float:
    """Delay after the ``attempts``-th failed attempt; ``rand`` in [0, 1)."""
    exponent = min(max(attempts - 1, 0), 62)
    delay = min(policy.cap_seconds, policy.base_seconds * (2.0**exponent))
    return delay / 2 + delay / 2 * rand


def failure_outcome(
    claim: Claim,
    now: datetime,
    policy: RetryPolicy,
    rand: float,
    error: str,
    status_code: int | None,
) -> Failure:
    attempts = claim.delivery.attempts + 1
    next_time: datetime | None = now + timedelta(seconds=backoff_seconds(attempts, policy, rand))
    window = timedelta(seconds=policy.window_seconds)
    if next_time is not None and next_time > claim.delivery.retry_from + window:
        next_time = None
    reason = f"every delivery failed for over {policy.window_seconds / 3600:g} h; last: {error}"
    return Failure(
        error=error,
        status_code=status_code,
        next_attempt_time=next_time,
        disable_if_failing_since=now - window,
        disabled_events=(destination_disabled(claim.destination, reason, now),),
    )
