"""Routes: notification destinations, routes, events and their deliveries.

- ``/destinations`` (create, list), ``/destinations/{destination}`` (get, patch, delete; id or
  name), ``/destinations/{destination}:rotateSecret``: a webhook destination's signing key is in
  the answer of create and rotate only (``secrets.webhookSigningKey``);
- ``/notification-routes`` (create, list, delete): which event types go to which destination;
- ``/notifications`` (events, newest first, each with its deliveries), ``/notification-deliveries``
  (status, attempts, last error, next try) and ``/notification-deliveries/{id}:redeliver``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from passway.api.auth import CurrentProject
from passway.api.schemas import RequestBody
from passway.errors import NotFound
from passway.notifications import manage
from passway.store.notifications import DeliveryStatus, NotificationStore

router = APIRouter(prefix="/v1/projects/{projectIdOrName}", tags=["notifications"])


def _store(request: Request) -> NotificationStore:
    return cast(NotificationStore, request.app.state.runtime.notifications)


def _now() -> datetime:
    return datetime.now(UTC)


class DestinationMetadata(BaseModel):
    url: str = Field(description="Where events are POSTed (http or https; egress rules apply)")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra request headers")


class DestinationCreate(RequestBody):
    name: str = Field(description="Unique in the project: letters, numbers and dashes")
    type: str = Field(default="webhook", description="Only webhook")
    metadata: DestinationMetadata


class DestinationMetadataChanges(BaseModel):
    url: str | None = None
    headers: dict[str, str] | None = None


class DestinationChanges(BaseModel):
    metadata: DestinationMetadataChanges = DestinationMetadataChanges()
    enabled: bool | None = None


class DestinationPatch(RequestBody):
    updateMask: list[str] = Field(description="metadata.url, metadata.headers, enabled")
    destination: DestinationChanges = DestinationChanges()


class RouteCreate(RequestBody):
    eventType: str = Field(description="An event type, or * for every type")
    destinationId: str = Field(description="The destination's id or name")


@router.post(
    "/destinations",
    status_code=201,
    summary="Create a webhook destination (its signing key is shown in this answer only)",
)
async def create_destination(
    body: DestinationCreate, request: Request, project: CurrentProject
) -> dict[str, Any]:
    destination = await manage.create_destination(
        _store(request),
        project.id,
        name=body.name,
        type_=body.type,
        url=body.metadata.url,
        headers=body.metadata.headers,
        now=_now(),
    )
    return manage.destination_json(destination, include_secret=True)


@router.get("/destinations", summary="List destinations")
async def list_destinations(request: Request, project: CurrentProject) -> list[dict[str, Any]]:
    found = await _store(request).list_destinations(project.id)
    return [manage.destination_json(d) for d in found]


@router.get("/destinations/{destination}", summary="Get a destination (id or name)")
async def get_destination(
    destination: str, request: Request, project: CurrentProject
) -> dict[str, Any]:
    found = await manage.get_destination(_store(request), project.id, destination)
    return manage.destination_json(found)


@router.post(
    "/destinations/{destination}:rotateSecret",
    summary="Replace the signing key (the new one is shown in this answer only)",
)
async def rotate_destination_secret(
    destination: str, request: Request, project: CurrentProject
) -> dict[str, Any]:
    rotated = await manage.rotate_secret(_store(request), project.id, destination, _now())
    return manage.destination_json(rotated, include_secret=True)


@router.patch(
    "/destinations/{destination}",
    summary="Update the fields named in updateMask (metadata.url, metadata.headers, enabled)",
)
async def update_destination(
    destination: str, body: DestinationPatch, request: Request, project: CurrentProject
) -> dict[str, Any]:
    changes = body.destination
    updated = await manage.update_destination(
        _store(request),
        project.id,
        destination,
        body.updateMask,
        url=changes.metadata.url,
        headers=changes.metadata.headers,
        enabled=changes.enabled,
        now=_now(),
    )
    return manage.destination_json(updated)


@router.delete(
    "/destinations/{destination}", status_code=204, summary="Delete a destination and its routes"
)
async def delete_destination(
    destination: str, request: Request, project: CurrentProject
) -> Response:
    await manage.delete_destination(_store(request), project.id, destination)
    return Response(status_code=204)


@router.post("/notification-routes", status_code=201, summary="Send an event type to a destination")
async def create_route(
    body: RouteCreate, request: Request, project: CurrentProject
) -> dict[str, Any]:
    route = await manage.create_route(
        _store(request),
        project.id,
        event_type=body.eventType,
        destination=body.destinationId,
        now=_now(),
    )
    return manage.route_json(route)


@router.get("/notification-routes", summary="List routes")
async def list_routes(
    request: Request,
    project: CurrentProject,
    eventType: str | None = None,
    destinationId: str | None = None,
) -> list[dict[str, Any]]:
    found = await _store(request).list_routes(
        project.id, event_type=eventType, destination_id=destinationId
    )
    return [manage.route_json(r) for r in found]


@router.delete("/notification-routes/{routeId}", status_code=204, summary="Delete a route")
async def delete_route(routeId: str, request: Request, project: CurrentProject) -> Response:
    await manage.delete_route(_store(request), project.id, routeId)
    return Response(status_code=204)


@router.get("/notifications", summary="Events, newest first, each with its deliveries")
async def list_notifications(
    request: Request,
    project: CurrentProject,
    notificationType: str | None = None,
    limit: int = Query(default=50, ge=1, le=500),
) -> list[dict[str, Any]]:
    store = _store(request)
    found = await store.list_events(project.id, event_type=notificationType, limit=limit)
    return [
        manage.event_json(e, await store.list_deliveries(project.id, event_id=e.id)) for e in found
    ]


@router.get("/notifications/{notificationId}", summary="One event with its deliveries")
async def get_notification(
    notificationId: str, request: Request, project: CurrentProject
) -> dict[str, Any]:
    store = _store(request)
    found = await store.get_event(project.id, notificationId)
    if found is None:
        raise NotFound(f"Notification {notificationId!r} not found.")
    return manage.event_json(found, await store.list_deliveries(project.id, event_id=found.id))


@router.get(
    "/notification-deliveries",
    summary="Deliveries, newest first: status, attempts, last error, next attempt",
)
async def list_deliveries(
    request: Request,
    project: CurrentProject,
    status: DeliveryStatus | None = None,
    destinationId: str | None = None,
    notificationId: str | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[dict[str, Any]]:
    found = await _store(request).list_deliveries(
        project.id,
        event_id=notificationId,
        destination_id=destinationId,
        status=status,
        limit=limit,
    )
    return [manage.delivery_json(d) for d in found]


@router.post(
    "/notification-deliveries/{deliveryId}:redeliver",
    summary="Send the delivery again now (same webhook-id), whatever its status",
)
async def redeliver(deliveryId: str, request: Request, project: CurrentProject) -> dict[str, Any]:
    again = await manage.redeliver(_store(request), project.id, deliveryId, _now())
    return manage.delivery_json(again)
