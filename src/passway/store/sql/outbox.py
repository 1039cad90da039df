"""The SQL side of the outbox: writing events with their deliveries, and rows to records.

``write_outbox`` runs inside the caller's transaction (``SqlBase._write`` calls it before its
commit), so an event commits or rolls back with the change that caused it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from passway.store.notification_tables import (
    destinations,
    notification_deliveries,
    notification_events,
    notification_routes,
)
from passway.store.notifications import (
    Delivery,
    NotificationEvent,
    Route,
    delivery_for,
    routed_destinations,
)


def aad_destination_secret(destination_id: str) -> str:
    return f"destination:{destination_id}:secret"


def new_delivery_id() -> str:
    return f"dlv_{uuid.uuid4().hex}"


async def write_outbox(conn: AsyncConnection, events: Sequence[NotificationEvent]) -> None:
    """Insert the events and one pending delivery per enabled destination routed to each."""
    for event in events:
        await conn.execute(
            notification_events.insert().values(
                id=event.id,
                project_id=event.project_id,
                type=event.type,
                data=dict(event.data),
                create_time=event.create_time,
            )
        )
        rows = (
            (
                await conn.execute(
                    sa.select(
                        notification_routes.c.id,
                        notification_routes.c.project_id,
                        notification_routes.c.event_type,
                        notification_routes.c.destination_id,
                        notification_routes.c.create_time,
                        destinations.c.enabled,
                    )
                    .join(destinations, destinations.c.id == notification_routes.c.destination_id)
                    .where(notification_routes.c.project_id == event.project_id)
                    .order_by(notification_routes.c.create_time, notification_routes.c.id)
                )
            )
            .mappings()
            .all()
        )
        enabled = {r["destination_id"] for r in rows if r["enabled"]}
        routes = [route_from_row(r) for r in rows]
        for destination_id in routed_destinations(event.type, routes, enabled.__contains__):
            delivery = delivery_for(event, destination_id, new_delivery_id())
            await conn.execute(notification_deliveries.insert().values(delivery_row(delivery)))


def route_from_row(r: RowMapping) -> Route:
    return Route(
        id=r["id"],
        project_id=r["project_id"],
        event_type=r["event_type"],
        destination_id=r["destination_id"],
        create_time=r["create_time"],
    )


def event_from_row(r: RowMapping) -> NotificationEvent:
    return NotificationEvent(
        id=r["id"],
        project_id=r["project_id"],
        type=r["type"],
        data=dict(r["data"]),
        create_time=r["create_time"],
    )


def delivery_row(d: Delivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "event_id": d.event_id,
        "project_id": d.project_id,
        "destination_id": d.destination_id,
        "status": d.status,
        "attempts": d.attempts,
        "next_attempt_time": d.next_attempt_time,
        "retry_from": d.retry_from,
        "last_error": d.last_error,
        "last_status_code": d.last_status_code,
        "delivered_time": d.delivered_time,
        "create_time": d.create_time,
        "update_time": d.update_time,
    }


def delivery_from_row(r: RowMapping) -> Delivery:
    return Delivery(
        id=r["id"],
        event_id=r["event_id"],
        project_id=r["project_id"],
        destination_id=r["destination_id"],
        status=r["status"],
        attempts=int(r["attempts"]),
        next_attempt_time=r["next_attempt_time"],
        retry_from=r["retry_from"],
        last_error=r["last_error"],
        last_status_code=r["last_status_code"],
        delivered_time=r["delivered_time"],
        create_time=r["create_time"],
        update_time=r["update_time"],
    )
