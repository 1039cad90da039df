"""``MemoryNotificationStore``: the in-memory twin of ``SqlNotificationStore``.

``MemoryStore`` calls ``write`` in the same step (no ``await`` between) as the change that causes
the events, which is what the SQL store's transaction gives: both happen or neither.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from passway.errors import Conflict, NotFound
from passway.store.notifications import (
    Claim,
    Delivery,
    DeliveryStatus,
    Destination,
    Failure,
    NotificationEvent,
    OutboxSignal,
    Route,
    delivery_for,
    routed_destinations,
)


class MemoryNotificationStore:
    """Implements ``NotificationStore`` with dicts."""

    def __init__(self) -> None:
        self.signal = OutboxSignal()
        self._destinations: dict[str, Destination] = {}
        self._routes: dict[str, Route] = {}
        self._events: dict[str, NotificationEvent] = {}
        self._deliveries: dict[str, Delivery] = {}
        self._leases: dict[str, tuple[str, datetime]] = {}

    def write(self, events: Sequence[NotificationEvent]) -> None:
        """Record events and their deliveries now (called with the change, no await between)."""
        for event in events:
            self._events[event.id] = event
            routes = [r for r in self._routes.values() if r.project_id == event.project_id]
            enabled = {d.id for d in self._destinations.values() if d.enabled}
            for destination_id in routed_destinations(event.type, routes, enabled.__contains__):
                delivery = delivery_for(event, destination_id, f"dlv_{uuid.uuid4().hex}")
                self._deliveries[delivery.id] = delivery
        if events:
            self.signal.notify()

    # destinations -------------------------------------------------------------------------------
    async def create_destination(self, destination: Destination) -> Destination:
        if destination.id in self._destinations or self._named(
            destination.project_id, destination.name, destination.id
        ):
            raise Conflict(f"destination name {destination.name!r} is taken")
        self._destinations[destination.id] = destination
        return destination

    def _named(self, project_id: str, name: str, other_than: str) -> bool:
        return any(
            d.project_id == project_id and d.name == name and d.id != other_than
            for d in self._destinations.values()
        )

    async def get_destination(self, project_id: str, id_or_name: str) -> Destination | None:
        found = self._destinations.get(id_or_name)
        if found is not None and found.project_id == project_id:
            return found
        return next(
            (
                d
                for d in self._destinations.values()
                if d.project_id == project_id and d.name == id_or_name
            ),
            None,
        )

    async def list_destinations(self, project_id: str) -> list[Destination]:
        found = [d for d in self._destinations.values() if d.project_id == project_id]
        return sorted(found, key=lambda d: (d.create_time, d.id))

    async def update_destination(self, destination: Destination) -> Destination:
        old = self._destinations.get(destination.id)
        if old is None or old.project_id != destination.project_id:
            raise NotFound("destination not found")
        if self._named(destination.project_id, destination.name, destination.id):
            raise Conflict(f"destination name {destination.name!r} is taken")
        self._destinations[destination.id] = destination
        return destination

    async def delete_destination(self, project_id: str, destination_id: str) -> bool:
        old = self._destinations.get(destination_id)
        if old is None or old.project_id != project_id:
            return False
        del self._destinations[destination_id]
        for route in [r for r in self._routes.values() if r.destination_id == destination_id]:
            del self._routes[route.id]
        for d in [d for d in self._deliveries.values() if d.destination_id == destination_id]:
            del self._deliveries[d.id]
        return True

    # routes -------------------------------------------------------------------------------------
    async def create_route(self, route: Route) -> Route:
        if await self.get_destination(route.project_id, route.destination_id) is None:
            raise NotFound("destination not found")
        if route.id in self._routes or any(
            (r.project_id, r.event_type, r.destination_id)
            == (route.project_id, route.event_type, route.destination_id)
            for r in self._routes.values()
        ):
            raise Conflict("this event type already goes to this destination")
        self._routes[route.id] = route
        return route

    async def list_routes(
        self,
        project_id: str,
        *,
        event_type: str | None = None,
        destination_id: str | None = None,
    ) -> list[Route]:
        found = [
            r
            for r in self._routes.values()
            if r.project_id == project_id
            and (event_type is None or r.event_type == event_type)
            and (destination_id is None or r.destination_id == destination_id)
        ]
        return sorted(found, key=lambda r: (r.create_time, r.id))

    async def delete_route(self, project_id: str, route_id: str) -> bool:
        old = self._routes.get(route_id)
        if old is None or old.project_id != project_id:
            return False
        del self._routes[route_id]
        return True

    # outbox -------------------------------------------------------------------------------------
    async def emit(self, events: Sequence[NotificationEvent]) -> None:
        self.write(events)

    async def list_events(
        self, project_id: str, *, event_type: str | None = None, limit: int = 100
    ) -> list[NotificationEvent]:
        found = [
            e
            for e in self._events.values()
            if e.project_id == project_id and (event_type is None or e.type == event_type)
        ]
        return sorted(found, key=lambda e: (e.create_time, e.id), reverse=True)[:limit]

    async def get_event(self, project_id: str, event_id: str) -> NotificationEvent | None:
        found = self._events.get(event_id)
        return found if found is not None and found.project_id == project_id else None

    async def list_deliveries(
        self,
        project_id: str,
        *,
        event_id: str | None = None,
        destination_id: str | None = None,
        status: DeliveryStatus | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        found = [
            d
            for d in self._deliveries.values()
            if d.project_id == project_id
            and (event_id is None or d.event_id == event_id)
            and (destination_id is None or d.destination_id == destination_id)
            and (status is None or d.status == status)
        ]
        return sorted(found, key=lambda d: (d.create_time, d.id), reverse=True)[:limit]

    async def get_delivery(self, project_id: str, delivery_id: str) -> Delivery | None:
        found = self._deliveries.get(delivery_id)
        return found if found is not None and found.project_id == project_id else None

    async def redeliver(self, project_id: str, delivery_id: str, now: datetime) -> Delivery | None:
        found = await self.get_delivery(project_id, delivery_id)
        if found is None:
            return None
        again = dataclasses.replace(
            found, status="pending", next_attempt_time=now, retry_from=now, update_time=now
        )
        self._deliveries[delivery_id] = again
        self._leases.pop(delivery_id, None)
        self.signal.notify()
        return again

    # the deliverer ------------------------------------------------------------------------------
    def _due(self, d: Delivery, now: datetime) -> bool:
        destination = self._destinations.get(d.destination_id)
        lease = self._leases.get(d.id)
        return (
            d.status == "pending"
            and d.next_attempt_time is not None
            and d.next_attempt_time <= now
            and (lease is None or lease[1] <= now)
            and destination is not None
            and destination.enabled
        )

    async def claim_due(
        self, owner: str, now: datetime, lease_seconds: float, limit: int
    ) -> list[Claim]:
        due = sorted(
            (d for d in self._deliveries.values() if self._due(d, now)),
            key=lambda d: (d.next_attempt_time or now, d.id),
        )[:limit]
        until = now + timedelta(seconds=lease_seconds)
        claims = []
        for d in due:
            self._leases[d.id] = (owner, until)
            claims.append(Claim(d, self._events[d.event_id], self._destinations[d.destination_id]))
        return claims

    def _held(self, claim: Claim, owner: str) -> Delivery | None:
        lease = self._leases.get(claim.delivery.id)
        if lease is None or lease[0] != owner:
            return None
        del self._leases[claim.delivery.id]
        return self._deliveries.get(claim.delivery.id)

    async def record_success(
        self, claim: Claim, owner: str, now: datetime, status_code: int
    ) -> None:
        current = self._held(claim, owner)
        if current is not None:
            self._deliveries[current.id] = dataclasses.replace(
                current,
                status="delivered",
                attempts=current.attempts + 1,
                next_attempt_time=None,
                last_error=None,
                last_status_code=status_code,
                delivered_time=now,
                update_time=now,
            )
        destination = self._destinations.get(claim.destination.id)
        if destination is not None and destination.failing_since is not None:
            self._destinations[destination.id] = dataclasses.replace(
                destination, failing_since=None
            )

    async def record_failure(
        self, claim: Claim, owner: str, now: datetime, failure: Failure
    ) -> None:
        current = self._held(claim, owner)
        if current is not None:
            self._deliveries[current.id] = dataclasses.replace(
                current,
                status="pending" if failure.next_attempt_time is not None else "failed",
                attempts=current.attempts + 1,
                next_attempt_time=failure.next_attempt_time,
                last_error=failure.error[:2000],
                last_status_code=failure.status_code,
                update_time=now,
            )
        destination = self._destinations.get(claim.destination.id)
        if destination is None:
            return
        if destination.failing_since is None:
            destination = dataclasses.replace(destination, failing_since=now)
        cutoff = failure.disable_if_failing_since
        assert destination.failing_since is not None
        if cutoff is not None and destination.enabled and destination.failing_since <= cutoff:
            destination = dataclasses.replace(
                destination,
                enabled=False,
                disabled_reason=f"failing since before {cutoff}: {failure.error[:500]}",
                update_time=now,
            )
            self._destinations[destination.id] = destination
            self.write(failure.disabled_events)
            return
        self._destinations[destination.id] = destination

    async def prune_events(self, older_than: datetime) -> int:
        pending = {d.event_id for d in self._deliveries.values() if d.status == "pending"}
        doomed = {
            e.id
            for e in self._events.values()
            if e.create_time < older_than and e.id not in pending
        }
        for delivery in [d for d in self._deliveries.values() if d.event_id in doomed]:
            del self._deliveries[delivery.id]
        for event_id in doomed:
            del self._events[event_id]
        return len(doomed)

    async def next_due_time(self) -> datetime | None:
        times = [
            d.next_attempt_time
            for d in self._deliveries.values()
            if d.status == "pending"
            and d.next_attempt_time is not None
            and (dest := self._destinations.get(d.destination_id)) is not None
            and dest.enabled
        ]
        return min(times) if times else None
