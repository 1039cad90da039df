"""How long Passway waits for a provider.

- Connecting: ``PASSWAY_CONNECT_TIMEOUT`` seconds (default 10).
- Reading: ``PASSWAY_READ_TIMEOUT`` seconds (default 120): the longest silence allowed while waiting
  for the response headers and then between two pieces of the body. A stream that keeps sending
  (server-sent events, a long download) is never cut; a stalled one is.
- Per call, the header ``x-amp-timeout-seconds: <seconds>`` (a positive number, fractions allowed)
  replaces the read timeout (and shortens the connect timeout if it is smaller). Values above
  ``PASSWAY_MAX_TIMEOUT`` (default 600) are lowered to it; anything that is not a positive finite
  number is a 400 ``missing_headers`` problem naming the header.

A provider that does not answer in time gets the client a 504 ``provider_timeout``; if the body had
already started, the client's connection is dropped instead (a clean short body would lie).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from passway.errors import Issue

TIMEOUT_HEADER = "x-amp-timeout-seconds"


def parse_timeout_override(raw: str, max_timeout: float) -> tuple[float | None, Issue | None]:
    """The override in seconds (capped at ``max_timeout``), or an issue explaining the refusal."""
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds <= 0:
        return None, Issue(
            "header", TIMEOUT_HEADER, "Must be a positive number of seconds.", raw[:32]
        )
    return min(seconds, max_timeout), None


@dataclass(frozen=True, slots=True)
class CallTimeouts:
    """Seconds allowed to connect, and of silence while reading, for one call."""

    connect: float
    read: float


class UpstreamTimeouts:
    """The ``CallTimeouts`` for each call, built once for the default case."""

    def __init__(self, connect: float, read: float) -> None:
        self.default = CallTimeouts(connect, read)

    def for_call(self, override: float | None) -> CallTimeouts:
        if override is None:
            return self.default
        return CallTimeouts(min(self.default.connect, override), override)
