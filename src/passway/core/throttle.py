"""Throttle mode (``x-amp-rate-limiter-mode: throttle``): after a provider 429, hold calls back.

When the provider answers 429, the window lasts what its ``Retry-After`` says (delay in seconds or
an HTTP date), or ``DEFAULT_RETRY_AFTER`` seconds when it says nothing. Throttle-mode calls get the
429 relayed with two more headers:

- ``X-Amp-Retry-After``: the end of the window, in UTC, like ``Thu, 06 Mar 2025 22:09:49 UTC``;
- ``X-Amp-Retryable``: ``false`` when the provider asks to wait longer than
  ``MAX_RETRYABLE_WAIT`` seconds (a token locked out; retrying soon is pointless), else ``true``.

Until the window ends, further throttle-mode calls on the same connection are answered by Passway
(a 429 ``throttled`` problem with the same two headers and ``Retry-After``) and never reach the
provider. Calls without the header are never held back (the proxy neither retries nor
rate-limits by default), but their 429s open the window too: the limit is the connection's.

The windows are kept by the fleet (``passway.fleet``): in each worker's memory (``ThrottleBook``)
by default, where each worker learns of a provider 429 on its own (one call per worker may still
reach the provider in the window); shared by every worker and instance when Redis is configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

DEFAULT_RETRY_AFTER = 60.0
MAX_RETRYABLE_WAIT = 3600.0
_MAX_WINDOWS = 100_000

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True, slots=True)
class ThrottleWindow:
    until: datetime
    retryable: bool

    def seconds_left(self, now: datetime) -> float:
        return max(0.0, (self.until - now).total_seconds())

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"x-amp-retry-after", format_utc(self.until).encode("ascii")),
            (b"x-amp-retryable", b"true" if self.retryable else b"false"),
        ]


def format_utc(moment: datetime) -> str:
    """``Thu, 06 Mar 2025 22:09:49 UTC`` (locale-independent)."""
    t = moment.astimezone(UTC)
    return (
        f"{_DAYS[t.weekday()]}, {t.day:02d} {_MONTHS[t.month - 1]} {t.year} "
        f"{t.hour:02d}:{t.minute:02d}:{t.second:02d} UTC"
    )


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delay or HTTP date); None if absent or bad."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())


def window_after_429(retry_after: str | None, now: datetime) -> ThrottleWindow:
    seconds = retry_after_seconds(retry_after, now)
    if seconds is None:
        seconds = DEFAULT_RETRY_AFTER
    until = now + timedelta(seconds=seconds)
    if until.microsecond:
        # Whole seconds (what the header shows), rounded up: never earlier than the provider said.
        until = until.replace(microsecond=0) + timedelta(seconds=1)
    return ThrottleWindow(until=until, retryable=seconds <= MAX_RETRYABLE_WAIT)


class ThrottleBook:
    """Open windows per connection id, in this process."""

    def __init__(self) -> None:
        self._windows: dict[str, ThrottleWindow] = {}

    def active(self, connection_id: str, now: datetime) -> ThrottleWindow | None:
        if not self._windows:
            return None
        window = self._windows.get(connection_id)
        if window is None:
            return None
        if window.until <= now:
            del self._windows[connection_id]
            return None
        return window

    def record(self, connection_id: str, window: ThrottleWindow, now: datetime) -> None:
        if len(self._windows) >= _MAX_WINDOWS:
            self._windows = {k: w for k, w in self._windows.items() if w.until > now}
        self._windows[connection_id] = window
