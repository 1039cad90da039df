"""``passway destinations ...``, ``passway notification-routes ...`` and ``passway notifications
...``: webhook destinations, which events go where, and what was delivered (with redelivery).

Like every command, these act on the configured database directly; a running server's deliverer
picks up new deliveries within ``PASSWAY_WEBHOOK_POLL_INTERVAL``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from passway.catalog import load_catalog
from passway.cli.common import (
    emit,
    friendly_errors,
    json_option,
    project_named,
    project_option,
    run,
    settings_from,
)
from passway.notifications import manage
from passway.notifications.events import ROUTABLE_TYPES
from passway.services.context import ServiceContext
from passway.settings import Settings
from passway.store.notifications import DeliveryStatus, NotificationStore

T = TypeVar("T")


@contextlib.asynccontextmanager
async def _open(settings: Settings) -> AsyncIterator[tuple[ServiceContext, NotificationStore]]:
    from passway.bootstrap import build_runtime

    runtime = await build_runtime(settings, load_catalog(settings.catalog_file))
    try:
        services = ServiceContext(
            store=runtime.store, catalog=runtime.catalog, settings=settings, tokens=runtime.tokens
        )
        yield services, runtime.notifications
    finally:
        await runtime.aclose()


def _in_project(
    ctx: click.Context, project: str, action: Callable[[NotificationStore, str], Awaitable[T]]
) -> T:
    async def go() -> T:
        async with _open(settings_from(ctx)) as (services, store):
            found = await project_named(services, project)
            return await action(store, found.id)

    return run(go())


def _now() -> datetime:
    return datetime.now(UTC)


def _headers(pairs: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition(":")
        if not sep:
            raise click.BadParameter(f"{pair!r}: use Name:value", param_hint="--header")
        out[name.strip()] = value.strip()
    return out


_DEST_HEADERS = ("ID", "NAME", "URL", "ENABLED", "FAILING SINCE")


def _dest_row(d: dict[str, Any]) -> list[Any]:
    return [d["id"], d["name"], d["metadata"]["url"], d["enabled"], d["failingSince"]]


@click.group("destinations")
def destinations_group() -> None:
    """Webhook destinations for notifications."""


@destinations_group.command("create")
@project_option
@click.option("--name", required=True, help="Letters, numbers and dashes.")
@click.option("--url", required=True, help="Where events are POSTed.")
@click.option("--header", "headers", multiple=True, help="Extra header, Name:value (repeatable).")
@json_option
@click.pass_context
@friendly_errors
def create_destination(
    ctx: click.Context, project: str, name: str, url: str, headers: tuple[str, ...], as_json: bool
) -> None:
    """Create a webhook destination; its signing key (whsec_...) is printed this once."""

    async def act(store: NotificationStore, project_id: str) -> dict[str, Any]:
        made = await manage.create_destination(
            store,
            project_id,
            name=name,
            type_="webhook",
            url=url,
            headers=_headers(headers),
            now=_now(),
        )
        return manage.destination_json(made, include_secret=True)

    out = _in_project(ctx, project, act)
    emit(as_json, out, [_dest_row(out)], _DEST_HEADERS)
    if not as_json:
        click.echo(f"signing key (shown once): {out['secrets']['webhookSigningKey']}")


@destinations_group.command("list")
@project_option
@json_option
@click.pass_context
@friendly_errors
def list_destinations(ctx: click.Context, project: str, as_json: bool) -> None:
    """List the project's destinations."""

    async def act(store: NotificationStore, project_id: str) -> list[dict[str, Any]]:
        return [manage.destination_json(d) for d in await store.list_destinations(project_id)]

    out = _in_project(ctx, project, act)
    emit(as_json, out, [_dest_row(d) for d in out], _DEST_HEADERS)


@destinations_group.command("rotate-secret")
@project_option
@click.argument("destination")
@json_option
@click.pass_context
@friendly_errors
def rotate_secret(ctx: click.Context, project: str, destination: str, as_json: bool) -> None:
    """Give DESTINATION (id or name) a new signing key, printed this once."""

    async def act(store: NotificationStore, project_id: str) -> dict[str, Any]:
        rotated = await manage.rotate_secret(store, project_id, destination, _now())
        return manage.destination_json(rotated, include_secret=True)

    out = _in_project(ctx, project, act)
    emit(as_json, out, [_dest_row(out)], _DEST_HEADERS)
    if not as_json:
        click.echo(f"signing key (shown once): {out['secrets']['webhookSigningKey']}")


@destinations_group.command("enable")
@project_option
@click.argument("destination")
@click.option("--off", is_flag=True, help="Disable instead.")
@json_option
@click.pass_context
@friendly_errors
def enable_destination(
    ctx: click.Context, project: str, destination: str, off: bool, as_json: bool
) -> None:
    """Enable DESTINATION again (its pending deliveries resume), or disable it with --off."""

    async def act(store: NotificationStore, project_id: str) -> dict[str, Any]:
        changed = await manage.update_destination(
            store,
            project_id,
            destination,
            ["enabled"],
            url=None,
            headers=None,
            enabled=not off,
            now=_now(),
        )
        return manage.destination_json(changed)

    out = _in_project(ctx, project, act)
    emit(as_json, out, [_dest_row(out)], _DEST_HEADERS)


@destinations_group.command("delete")
@project_option
@click.argument("destination")
@click.pass_context
@friendly_errors
def delete_destination(ctx: click.Context, project: str, destination: str) -> None:
    """Delete DESTINATION, its routes and its deliveries."""

    async def act(store: NotificationStore, project_id: str) -> None:
        await manage.delete_destination(store, project_id, destination)

    _in_project(ctx, project, act)
    click.echo("deleted")


_ROUTE_HEADERS = ("ID", "EVENT TYPE", "DESTINATION")


def _route_row(r: dict[str, Any]) -> list[Any]:
    return [r["id"], r["eventType"], r["destinationId"]]


@click.group("notification-routes")
def routes_group() -> None:
    """Which notification events go to which destination."""


@routes_group.command("create")
@project_option
@click.option("--event-type", required=True, type=click.Choice(ROUTABLE_TYPES))
@click.option("--destination", required=True, help="Destination id or name.")
@json_option
@click.pass_context
@friendly_errors
def create_route(
    ctx: click.Context, project: str, event_type: str, destination: str, as_json: bool
) -> None:
    """Send EVENT_TYPE events (or * for all) to a destination."""

    async def act(store: NotificationStore, project_id: str) -> dict[str, Any]:
        route = await manage.create_route(
            store, project_id, event_type=event_type, destination=destination, now=_now()
        )
        return manage.route_json(route)

    out = _in_project(ctx, project, act)
    emit(as_json, out, [_route_row(out)], _ROUTE_HEADERS)


@routes_group.command("list")
@project_option
@json_option
@click.pass_context
@friendly_errors
def list_routes(ctx: click.Context, project: str, as_json: bool) -> None:
    """List the project's routes."""

    async def act(store: NotificationStore, project_id: str) -> list[dict[str, Any]]:
        return [manage.route_json(r) for r in await store.list_routes(project_id)]

    out = _in_project(ctx, project, act)
    emit(as_json, out, [_route_row(r) for r in out], _ROUTE_HEADERS)


@routes_group.command("delete")
@project_option
@click.argument("route_id")
@click.pass_context
@friendly_errors
def delete_route(ctx: click.Context, project: str, route_id: str) -> None:
    """Delete route ROUTE_ID."""

    async def act(store: NotificationStore, project_id: str) -> None:
        await manage.delete_route(store, project_id, route_id)

    _in_project(ctx, project, act)
    click.echo("deleted")


_DELIVERY_HEADERS = (
    "DELIVERY",
    "EVENT",
    "DESTINATION",
    "STATUS",
    "ATTEMPTS",
    "NEXT ATTEMPT",
    "LAST ERROR",
)


def _delivery_row(d: dict[str, Any]) -> list[Any]:
    return [
        d["id"],
        d["eventId"],
        d["destinationId"],
        d["status"],
        d["attempts"],
        d["nextAttemptTime"],
        (d["lastError"] or "")[:60],
    ]


@click.group("notifications")
def notifications_group() -> None:
    """Notification events and their deliveries."""


@notifications_group.command("list")
@project_option
@click.option("--type", "event_type", help="Only this notification type.")
@click.option("--limit", default=50, show_default=True)
@json_option
@click.pass_context
@friendly_errors
def list_events(
    ctx: click.Context, project: str, event_type: str | None, limit: int, as_json: bool
) -> None:
    """Events, newest first, with the status of each delivery."""

    async def act(store: NotificationStore, project_id: str) -> list[dict[str, Any]]:
        found = await store.list_events(project_id, event_type=event_type, limit=limit)
        return [
            manage.event_json(e, await store.list_deliveries(project_id, event_id=e.id))
            for e in found
        ]

    out = _in_project(ctx, project, act)
    rows = [
        [
            e["id"],
            e["notificationType"],
            e["createTime"],
            ", ".join(f"{d['destinationId'][:8]}:{d['status']}" for d in e["deliveries"]),
        ]
        for e in out
    ]
    emit(as_json, out, rows, ("EVENT", "TYPE", "TIME", "DELIVERIES"))


@notifications_group.command("deliveries")
@project_option
@click.option("--status", type=click.Choice(manage.DELIVERY_STATUSES))
@click.option("--destination", help="Only deliveries to this destination id.")
@click.option("--limit", default=100, show_default=True)
@json_option
@click.pass_context
@friendly_errors
def list_deliveries(
    ctx: click.Context,
    project: str,
    status: DeliveryStatus | None,
    destination: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Deliveries, newest first: status, attempts, next attempt, last error."""

    async def act(store: NotificationStore, project_id: str) -> list[dict[str, Any]]:
        found = await store.list_deliveries(
            project_id, status=status, destination_id=destination, limit=limit
        )
        return [manage.delivery_json(d) for d in found]

    out = _in_project(ctx, project, act)
    emit(as_json, out, [_delivery_row(d) for d in out], _DELIVERY_HEADERS)


@notifications_group.command("redeliver")
@project_option
@click.argument("delivery_id")
@json_option
@click.pass_context
@friendly_errors
def redeliver(ctx: click.Context, project: str, delivery_id: str, as_json: bool) -> None:
    """Send delivery DELIVERY_ID again now (same webhook-id), whatever its status."""

    async def act(store: NotificationStore, project_id: str) -> dict[str, Any]:
        return manage.delivery_json(await manage.redeliver(store, project_id, delivery_id, _now()))

    out = _in_project(ctx, project, act)
    emit(as_json, out, [_delivery_row(out)], _DELIVERY_HEADERS)
