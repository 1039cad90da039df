"""Whether Redis is worth asking right now, and one log line per outage.

After a failure Redis is left alone for ``retry_after`` seconds (the calls meanwhile use what this
process knows); then one call probes it again. An outage is logged when it starts and when it ends,
never per call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

logger = logging.getLogger("passway.fleet")


class Outage:
    def __init__(self, retry_after: float = 1.0, clock: Callable[[], float] = time.monotonic):
        self._retry_after = retry_after
        self._clock = clock
        self._down = False
        self._next_probe = 0.0

    @property
    def down(self) -> bool:
        return self._down

    def usable(self) -> bool:
        """True when Redis should be asked (always while up; once per interval while down)."""
        if not self._down:
            return True
        now = self._clock()
        if now < self._next_probe:
            return False
        self._next_probe = now + self._retry_after
        return True

    def failed(self, error: BaseException) -> None:
        if not self._down:
            # The error's text names host and port at most (never the URL's password).
            logger.warning(
                "Redis unreachable (%s: %s); using this process's own state until it is back",
                type(error).__name__,
                error,
            )
        self._down = True
        self._next_probe = self._clock() + self._retry_after

    def succeeded(self) -> None:
        if self._down:
            logger.info("Redis reachable again; sharing state through it")
        self._down = False
