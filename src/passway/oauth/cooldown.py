"""After a failed refresh (network, 5xx, unexpected refusal) a connection rests for a while.

What this process knows is checked synchronously on every attempt (``check``). The cooldown is also
written to the fleet (``passway.fleet``): with Redis, other workers and instances see it too, and
it is read from there (``check_shared``) only by the process about to call the token endpoint,
holding the refresh lease. Without Redis each process tries at most once per cooldown, and the
lease still keeps those tries from overlapping. A revoked grant needs no cooldown: the connection's
stored ``bad_credentials`` status stops every process.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from passway.errors import TokenRefreshCoolingDown
from passway.fleet import Fleet


class Cooldowns:
    def __init__(self, seconds: float, fleet: Fleet) -> None:
        self._seconds = seconds
        self._fleet = fleet
        self._until: dict[str, datetime] = {}

    async def start(self, connection_id: str, now: datetime) -> None:
        until = now + timedelta(seconds=self._seconds)
        self._until[connection_id] = until
        await self._fleet.start_cooldown(connection_id, until, now)

    def clear(self, connection_id: str) -> None:
        self._until.pop(connection_id, None)
        self._fleet.end_cooldown(connection_id)

    def check(self, connection_id: str, now: datetime) -> None:
        """Raise ``TokenRefreshCoolingDown`` while the connection rests (as far as this process
        knows)."""
        until = self._until.get(connection_id)
        if until is None:
            return
        if until <= now:
            del self._until[connection_id]
            return
        raise _cooling_down(connection_id, until, now)

    async def check_shared(self, connection_id: str, now: datetime) -> None:
        """Like ``check``, also asking the fleet (another process's failed refresh counts).

        What the fleet says is not kept here: when the cooldown is forgotten (re-authorization in
        another process), the next attempt must see that at once.
        """
        self.check(connection_id, now)
        until = await self._fleet.cooldown_until(connection_id, now)
        if until is not None and until > now:
            raise _cooling_down(connection_id, until, now)


def _cooling_down(connection_id: str, until: datetime, now: datetime) -> TokenRefreshCoolingDown:
    return TokenRefreshCoolingDown(
        "The last token refresh of this connection failed; retrying after the cooldown",
        retry_after=(until - now).total_seconds(),
        context={"connectionId": connection_id},
    )
