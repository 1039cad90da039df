"""Notification records and the storage interface for destinations, routes and the outbox.

An event is written to the outbox in the same transaction as the change that causes it: the
``Store`` mutations take ``events=...`` and write them with their own rows (``SqlBase._write`` and
the memory twin do this). Writing an event fans it out at once to one delivery per enabled
destination routed to its type, so what a delivery will go to is decided when the event happens.

``SqlNotificationStore`` (``sql_notifications``) and ``MemoryNotificationStore``
(``memory_notifications``) implement ``NotificationStore``; one contract suite holds both to it.
Deliveries are claimed with a lease (one conditional UPDATE, ``SKIP LOCKED`` on PostgreSQL), so
with several workers or instances each delivery is attempted by one of them at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

DeliveryStatus = Literal["pending", "delivered", "failed"]
ALL_EVENTS = "*"


@dataclass(frozen=True, slots=True)
class Destination:
    """Where notifications go. Only ``webhook`` so far; ``secret`` is sealed at rest."""

    id: str
    project_id: str
    name: str
    type: str
    url: str
    headers: Mapping[str, str]
    secret: str
    enabled: bool
    # Since when every attempt to this destination failed (None after any success).
    failing_since: datetime | None
    disabled_reason: str | None
    create_time: datetime
    update_time: datetime


@dataclass(frozen=True, slots=True)
class Route:
    """Events of ``event_type`` (or ``*``, every type) go to ``destination_id``."""

    id: str
    project_id: str
    event_type: str
    destination_id: str
    create_time: datetime


@dataclass(frozen=True, slots=True)
class NotificationEvent:
    """One event; ``id`` is the stable ``webhook-id`` a receiver de-duplicates on."""

    id: str
    project_id: str
    type: str
    data: Mapping[str, Any]
    create_time: datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event on its way to one destination."""

    id: str
    event_id: str
    project_id: str
    destination_id: str
    status: DeliveryStatus
    attempts: int
    next_attempt_time: datetime | None
    # Retries run for the retry window from this time: the event's, or an operator's redelivery.
    retry_from: datetime
    last_error: str | None
    last_status_code: int | None
    delivered_time: datetime | None
    create_time: datetime
    update_time: datetime


@dataclass(frozen=True, slots=True)
class Claim:
    """A due delivery leased to one deliverer, with what it needs to send it."""

    delivery: Delivery
    event: NotificationEvent
    destination: Destination


@dataclass(frozen=True, slots=True)
class Failure:
    """The outcome of a failed attempt, decided by the deliverer (``notifications.retry``)."""

    error: str
    status_code: int | None
    # None: no more attempts (the delivery becomes ``failed``).
    next_attempt_time: datetime | None
    # Disable the destination if it has been failing since before this time; the events are
    # written only if this call disabled it.
    disable_if_failing_since: datetime | None = None
    disabled_events: Sequence[NotificationEvent] = ()


@dataclass(slots=True)
class OutboxSignal:
    """Wakes this process's deliverer right after an outbox write commits."""

    listeners: list[Callable[[], None]] = field(default_factory=list)

    def add(self, listener: Callable[[], None]) -> None:
        self.listeners.append(listener)

    def notify(self) -> None:
        for listener in list(self.listeners):
            listener()


class NotificationStore(Protocol):
    """Destinations, routes, the outbox and its deliveries (tenant-scoped by ``project_id``)."""

    signal: OutboxSignal

    # destinations -------------------------------------------------------------------------------
    async def create_destination(self, destination: Destination) -> Destination:
        """Conflict if the name is taken in the project."""
        ...

    async def get_destination(self, project_id: str, id_or_name: str) -> Destination | None: ...

    async def list_destinations(self, project_id: str) -> list[Destination]: ...

    async def update_destination(self, destination: Destination) -> Destination:
        """Every field but id, project and create time; NotFound if absent."""
        ...

    async def delete_destination(self, project_id: str, destination_id: str) -> bool:
        """Also drops its routes and deliveries."""
        ...

    # routes -------------------------------------------------------------------------------------
    async def create_route(self, route: Route) -> Route:
        """Conflict if the same type already goes to the same destination."""
        ...

    async def list_routes(
        self,
        project_id: str,
        *,
        event_type: str | None = None,
        destination_id: str | None = None,
    ) -> list[Route]: ...

    async def delete_route(self, project_id: str, route_id: str) -> bool: ...

    # outbox -------------------------------------------------------------------------------------
    async def emit(self, events: Sequence[NotificationEvent]) -> None:
        """Write events that no other change goes with (a failed token refresh)."""
        ...

    async def list_events(
        self, project_id: str, *, event_type: str | None = None, limit: int = 100
    ) -> list[NotificationEvent]:
        """Newest first."""
        ...

    async def get_event(self, project_id: str, event_id: str) -> NotificationEvent | None: ...

    async def list_deliveries(
        self,
        project_id: str,
        *,
        event_id: str | None = None,
        destination_id: str | None = None,
        status: DeliveryStatus | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        """Newest first."""
        ...

    async def get_delivery(self, project_id: str, delivery_id: str) -> Delivery | None: ...

    async def redeliver(self, project_id: str, delivery_id: str, now: datetime) -> Delivery | None:
        """Make the delivery due now again (whatever its status); None if absent."""
        ...

    # the deliverer ------------------------------------------------------------------------------
    async def claim_due(
        self, owner: str, now: datetime, lease_seconds: float, limit: int
    ) -> list[Claim]:
        """Lease up to ``limit`` pending deliveries due by ``now`` to enabled destinations; a
        delivery leased by another owner whose lease has not run out is skipped."""
        ...

    async def record_success(
        self, claim: Claim, owner: str, now: datetime, status_code: int
    ) -> None: ...

    async def record_failure(
        self, claim: Claim, owner: str, now: datetime, failure: Failure
    ) -> None: ...

    async def next_due_time(self) -> datetime | None:
        """When the earliest pending delivery to an enabled destination is due."""
        ...

    async def prune_events(self, older_than: datetime) -> int:
        """Drop events made before ``older_than`` with no pending delivery (and their
        deliveries). Returns how many events were dropped."""
        ...


def delivery_for(event: NotificationEvent, destination_id: str, delivery_id: str) -> Delivery:
    """A new pending delivery of ``event``, due at once."""
    now = event.create_time
    return Delivery(
        id=delivery_id,
        event_id=event.id,
        project_id=event.project_id,
        destination_id=destination_id,
        status="pending",
        attempts=0,
        next_attempt_time=now,
        retry_from=now,
        last_error=None,
        last_status_code=None,
        delivered_time=None,
        create_time=now,
        update_time=now,
    )


def routed_destinations(
    event_type: str, routes: Sequence[Route], enabled: Callable[[str], bool]
) -> list[str]:
    """The enabled destinations ``event_type`` goes to, each once, in route order."""
    out: list[str] = []
    for route in routes:
        wanted = route.event_type in (event_type, ALL_EVENTS)
        if wanted and route.destination_id not in out and enabled(route.destination_id):
            out.append(route.destination_id)
    return out
