"""``SqlNotificationStore``: destinations, routes and the outbox on SQLite or PostgreSQL.

``write_outbox`` (in ``sql_outbox``) is what ``SqlBase._write`` calls before its commit, so an
event commits or rolls back with the change that caused it. Deliveries are leased by one
conditional UPDATE over the due rows (on PostgreSQL the candidates are picked ``FOR UPDATE SKIP
LOCKED``, so concurrent deliverers pick different rows instead of queueing on the same ones); the
lease condition is in the UPDATE itself, so a row is never held by two owners whatever the backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from passway.crypto import Keyring
from passway.errors import Conflict, NotFound
from passway.store.engine import WRITE_OPTION
from passway.store.notification_tables import (
    destinations,
    notification_deliveries,
    notification_events,
    notification_routes,
)
from passway.store.notifications import (
    Claim,
    Delivery,
    DeliveryStatus,
    Destination,
    Failure,
    NotificationEvent,
    OutboxSignal,
    Route,
)
from passway.store.sql.outbox import (
    aad_destination_secret,
    delivery_from_row,
    event_from_row,
    route_from_row,
    write_outbox,
)

_DELIVERY = notification_deliveries.c


class SqlNotificationStore:
    """Implements ``NotificationStore`` over the store's engine."""

    def __init__(self, engine: AsyncEngine, keyring: Keyring, signal: OutboxSignal) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        self._keyring = keyring
        self._postgres = engine.dialect.name == "postgresql"
        self.signal = signal

    async def _all(self, stmt: sa.Executable) -> Sequence[RowMapping]:
        async with self._engine.connect() as conn:
            return (await conn.execute(stmt)).mappings().all()

    async def _one(self, stmt: sa.Executable) -> RowMapping | None:
        async with self._engine.connect() as conn:
            return (await conn.execute(stmt)).mappings().first()

    # destinations -------------------------------------------------------------------------------
    def _destination_row(self, d: Destination) -> dict[str, Any]:
        aad = aad_destination_secret(d.id)
        return {
            "id": d.id,
            "project_id": d.project_id,
            "name": d.name,
            "type": d.type,
            "url": d.url,
            "headers": dict(d.headers),
            "secret_enc": self._keyring.encrypt_text(d.secret, aad),
            "enabled": d.enabled,
            "failing_since": d.failing_since,
            "disabled_reason": d.disabled_reason,
            "create_time": d.create_time,
            "update_time": d.update_time,
        }

    def _destination(self, r: RowMapping) -> Destination:
        return Destination(
            id=r["id"],
            project_id=r["project_id"],
            name=r["name"],
            type=r["type"],
            url=r["url"],
            headers=dict(r["headers"]),
            secret=self._keyring.decrypt_text(r["secret_enc"], aad_destination_secret(r["id"])),
            enabled=bool(r["enabled"]),
            failing_since=r["failing_since"],
            disabled_reason=r["disabled_reason"],
            create_time=r["create_time"],
            update_time=r["update_time"],
        )

    async def create_destination(self, destination: Destination) -> Destination:
        try:
            async with self._writer.begin() as conn:
                await conn.execute(destinations.insert().values(self._destination_row(destination)))
        except IntegrityError:
            raise Conflict(f"destination name {destination.name!r} is taken") from None
        return destination

    async def get_destination(self, project_id: str, id_or_name: str) -> Destination | None:
        d = destinations.c
        row = await self._one(
            sa.select(destinations)
            .where(d.project_id == project_id, sa.or_(d.id == id_or_name, d.name == id_or_name))
            .order_by(sa.case((d.id == id_or_name, 0), else_=1))
            .limit(1)
        )
        return None if row is None else self._destination(row)

    async def list_destinations(self, project_id: str) -> list[Destination]:
        rows = await self._all(
            sa.select(destinations)
            .where(destinations.c.project_id == project_id)
            .order_by(destinations.c.create_time, destinations.c.id)
        )
        return [self._destination(r) for r in rows]

    async def update_destination(self, destination: Destination) -> Destination:
        values = self._destination_row(destination)
        for fixed in ("id", "project_id", "create_time"):
            del values[fixed]
        try:
            async with self._writer.begin() as conn:
                result: Any = await conn.execute(
                    destinations.update()
                    .where(
                        destinations.c.id == destination.id,
                        destinations.c.project_id == destination.project_id,
                    )
                    .values(values)
                )
        except IntegrityError:
            raise Conflict(f"destination name {destination.name!r} is taken") from None
        if result.rowcount == 0:
            raise NotFound("destination not found")
        return destination

    async def delete_destination(self, project_id: str, destination_id: str) -> bool:
        async with self._writer.begin() as conn:
            result: Any = await conn.execute(
                destinations.delete().where(
                    destinations.c.id == destination_id, destinations.c.project_id == project_id
                )
            )
        return bool(result.rowcount)

    # routes -------------------------------------------------------------------------------------
    async def create_route(self, route: Route) -> Route:
        try:
            async with self._writer.begin() as conn:
                owned = await conn.execute(
                    sa.select(destinations.c.id).where(
                        destinations.c.id == route.destination_id,
                        destinations.c.project_id == route.project_id,
                    )
                )
                if owned.first() is None:
                    raise NotFound("destination not found")
                await conn.execute(
                    notification_routes.insert().values(
                        id=route.id,
                        project_id=route.project_id,
                        event_type=route.event_type,
                        destination_id=route.destination_id,
                        create_time=route.create_time,
                    )
                )
        except IntegrityError:
            raise Conflict("this event type already goes to this destination") from None
        return route

    async def list_routes(
        self,
        project_id: str,
        *,
        event_type: str | None = None,
        destination_id: str | None = None,
    ) -> list[Route]:
        r = notification_routes.c
        stmt = sa.select(notification_routes).where(r.project_id == project_id)
        if event_type is not None:
            stmt = stmt.where(r.event_type == event_type)
        if destination_id is not None:
            stmt = stmt.where(r.destination_id == destination_id)
        rows = await self._all(stmt.order_by(r.create_time, r.id))
        return [route_from_row(row) for row in rows]

    async def delete_route(self, project_id: str, route_id: str) -> bool:
        async with self._writer.begin() as conn:
            result: Any = await conn.execute(
                notification_routes.delete().where(
                    notification_routes.c.id == route_id,
                    notification_routes.c.project_id == project_id,
                )
            )
        return bool(result.rowcount)

    # outbox -------------------------------------------------------------------------------------
    async def emit(self, events: Sequence[NotificationEvent]) -> None:
        if not events:
            return
        async with self._writer.begin() as conn:
            await write_outbox(conn, events)
        self.signal.notify()

    async def list_events(
        self, project_id: str, *, event_type: str | None = None, limit: int = 100
    ) -> list[NotificationEvent]:
        e = notification_events.c
        stmt = sa.select(notification_events).where(e.project_id == project_id)
        if event_type is not None:
            stmt = stmt.where(e.type == event_type)
        rows = await self._all(stmt.order_by(e.create_time.desc(), e.id.desc()).limit(limit))
        return [event_from_row(r) for r in rows]

    async def get_event(self, project_id: str, event_id: str) -> NotificationEvent | None:
        e = notification_events.c
        row = await self._one(
            sa.select(notification_events).where(e.project_id == project_id, e.id == event_id)
        )
        return None if row is None else event_from_row(row)

    async def list_deliveries(
        self,
        project_id: str,
        *,
        event_id: str | None = None,
        destination_id: str | None = None,
        status: DeliveryStatus | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        stmt = sa.select(notification_deliveries).where(_DELIVERY.project_id == project_id)
        if event_id is not None:
            stmt = stmt.where(_DELIVERY.event_id == event_id)
        if destination_id is not None:
            stmt = stmt.where(_DELIVERY.destination_id == destination_id)
        if status is not None:
            stmt = stmt.where(_DELIVERY.status == status)
        stmt = stmt.order_by(_DELIVERY.create_time.desc(), _DELIVERY.id.desc()).limit(limit)
        return [delivery_from_row(r) for r in await self._all(stmt)]

    async def get_delivery(self, project_id: str, delivery_id: str) -> Delivery | None:
        row = await self._one(
            sa.select(notification_deliveries).where(
                _DELIVERY.project_id == project_id, _DELIVERY.id == delivery_id
            )
        )
        return None if row is None else delivery_from_row(row)

    async def redeliver(self, project_id: str, delivery_id: str, now: datetime) -> Delivery | None:
        async with self._writer.begin() as conn:
            row = (
                (
                    await conn.execute(
                        notification_deliveries.update()
                        .where(_DELIVERY.project_id == project_id, _DELIVERY.id == delivery_id)
                        .values(
                            status="pending",
                            next_attempt_time=now,
                            retry_from=now,
                            lease_owner=None,
                            lease_until=None,
                            update_time=now,
                        )
                        .returning(*notification_deliveries.c)
                    )
                )
                .mappings()
                .first()
            )
        if row is not None:
            self.signal.notify()
        return None if row is None else delivery_from_row(row)

    # the deliverer ------------------------------------------------------------------------------
    def _due(self, now: datetime) -> sa.ColumnElement[bool]:
        enabled = sa.select(destinations.c.id).where(
            destinations.c.id == _DELIVERY.destination_id, destinations.c.enabled.is_(True)
        )
        return sa.and_(
            _DELIVERY.status == "pending",
            _DELIVERY.next_attempt_time <= now,
            sa.or_(_DELIVERY.lease_until.is_(None), _DELIVERY.lease_until <= now),
            enabled.exists(),
        )

    async def claim_due(
        self, owner: str, now: datetime, lease_seconds: float, limit: int
    ) -> list[Claim]:
        candidates = (
            sa.select(_DELIVERY.id)
            .where(self._due(now))
            .order_by(_DELIVERY.next_attempt_time, _DELIVERY.id)
            .limit(limit)
        )
        # A plain read first: an idle poll never takes SQLite's write lock.
        if not await self._all(candidates):
            return []
        if self._postgres:
            candidates = candidates.with_for_update(skip_locked=True, of=notification_deliveries)
        lease_until = now + timedelta(seconds=lease_seconds)
        async with self._writer.begin() as conn:
            ids = [r[0] for r in (await conn.execute(candidates)).all()]
            if not ids:
                return []
            claimed = (
                await conn.execute(
                    notification_deliveries.update()
                    .where(_DELIVERY.id.in_(ids), self._due(now))
                    .values(lease_owner=owner, lease_until=lease_until)
                    .returning(_DELIVERY.id)
                )
            ).all()
        return await self._claims([r[0] for r in claimed])

    async def _claims(self, delivery_ids: list[str]) -> list[Claim]:
        if not delivery_ids:
            return []
        rows = await self._all(
            sa.select(notification_deliveries).where(_DELIVERY.id.in_(delivery_ids))
        )
        found = [delivery_from_row(r) for r in rows]
        event_rows = await self._all(
            sa.select(notification_events).where(
                notification_events.c.id.in_({d.event_id for d in found})
            )
        )
        dest_rows = await self._all(
            sa.select(destinations).where(destinations.c.id.in_({d.destination_id for d in found}))
        )
        events = {r["id"]: event_from_row(r) for r in event_rows}
        dests = {r["id"]: self._destination(r) for r in dest_rows}
        return [
            Claim(d, events[d.event_id], dests[d.destination_id])
            for d in sorted(found, key=lambda d: (d.next_attempt_time or d.create_time, d.id))
            if d.event_id in events and d.destination_id in dests
        ]

    def _held(self, claim: Claim, owner: str) -> sa.ColumnElement[bool]:
        return sa.and_(_DELIVERY.id == claim.delivery.id, _DELIVERY.lease_owner == owner)

    async def record_success(
        self, claim: Claim, owner: str, now: datetime, status_code: int
    ) -> None:
        async with self._writer.begin() as conn:
            await conn.execute(
                notification_deliveries.update()
                .where(self._held(claim, owner))
                .values(
                    status="delivered",
                    attempts=_DELIVERY.attempts + 1,
                    next_attempt_time=None,
                    last_error=None,
                    last_status_code=status_code,
                    delivered_time=now,
                    lease_owner=None,
                    lease_until=None,
                    update_time=now,
                )
            )
            await conn.execute(
                destinations.update()
                .where(
                    destinations.c.id == claim.destination.id,
                    destinations.c.failing_since.is_not(None),
                )
                .values(failing_since=None)
            )

    async def record_failure(
        self, claim: Claim, owner: str, now: datetime, failure: Failure
    ) -> None:
        disabled = False
        async with self._writer.begin() as conn:
            await conn.execute(
                notification_deliveries.update()
                .where(self._held(claim, owner))
                .values(
                    status="pending" if failure.next_attempt_time is not None else "failed",
                    attempts=_DELIVERY.attempts + 1,
                    next_attempt_time=failure.next_attempt_time,
                    last_error=failure.error[:2000],
                    last_status_code=failure.status_code,
                    lease_owner=None,
                    lease_until=None,
                    update_time=now,
                )
            )
            d = destinations.c
            await conn.execute(
                destinations.update()
                .where(d.id == claim.destination.id, d.failing_since.is_(None))
                .values(failing_since=now)
            )
            if failure.disable_if_failing_since is not None:
                result: Any = await conn.execute(
                    destinations.update()
                    .where(
                        d.id == claim.destination.id,
                        d.enabled.is_(True),
                        d.failing_since <= failure.disable_if_failing_since,
                    )
                    .values(
                        enabled=False,
                        disabled_reason=f"failing since before {failure.disable_if_failing_since}"
                        f": {failure.error[:500]}",
                        update_time=now,
                    )
                )
                disabled = result.rowcount == 1
                if disabled:
                    await write_outbox(conn, failure.disabled_events)
        if disabled and failure.disabled_events:
            self.signal.notify()

    async def next_due_time(self) -> datetime | None:
        enabled = sa.select(destinations.c.id).where(
            destinations.c.id == _DELIVERY.destination_id, destinations.c.enabled.is_(True)
        )
        row = await self._one(
            sa.select(sa.func.min(_DELIVERY.next_attempt_time).label("t")).where(
                _DELIVERY.status == "pending", enabled.exists()
            )
        )
        if row is None:
            return None
        due: datetime | None = row["t"]
        return due

    async def prune_events(self, older_than: datetime) -> int:
        pending = sa.select(_DELIVERY.id).where(
            _DELIVERY.event_id == notification_events.c.id, _DELIVERY.status == "pending"
        )
        doomed = sa.select(notification_events.c.id).where(
            notification_events.c.create_time < older_than, ~pending.exists()
        )
        async with self._writer.begin() as conn:
            ids = [r[0] for r in (await conn.execute(doomed.limit(10_000))).all()]
            if not ids:
                return 0
            await conn.execute(notification_deliveries.delete().where(_DELIVERY.event_id.in_(ids)))
            await conn.execute(
                notification_events.delete().where(notification_events.c.id.in_(ids))
            )
        return len(ids)
