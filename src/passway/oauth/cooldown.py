"""After a failed refresh (network, 5xx, unexpected refusal) a connection rests for a while.

Kept per process: with several workers or instances, each tries at most once per cooldown, and the
refresh lease still keeps those tries from overlapping. A revoked grant needs no cooldown: the
connection's stored ``bad_credentials`` status stops every process.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from passway.errors import TokenRefreshCoolingDown


class Cooldowns:
    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._until: dict[str, datetime] = {}

    def start(self, connection_id: str, now: datetime) -> None:
        self._until[connection_id] = now + timedelta(seconds=self._seconds)

    def clear(self, connection_id: str) -> None:
        self._until.pop(connection_id, None)

    def check(self, connection_id: str, now: datetime) -> None:
        """Raise ``TokenRefreshCoolingDown`` while the connection rests."""
        until = self._until.get(connection_id)
        if until is None:
            return
        remaining = (until - now).total_seconds()
        if remaining <= 0:
            del self._until[connection_id]
            return
        raise TokenRefreshCoolingDown(
            "The last token refresh of this connection failed; retrying after the cooldown",
            retry_after=remaining,
            context={"connectionId": connection_id},
        )
