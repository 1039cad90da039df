"""``passway operations list`` (``--follow`` prints new ones as they come) and ``passway
operations show ID``: the operations of a project, read directly from the configured database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import click

from passway.cli.common import (
    emit,
    friendly_errors,
    json_option,
    project_named,
    project_option,
    run,
    settings_from,
    table,
)
from passway.operations.record import OperationRecord, operation_json
from passway.services import operations as ops
from passway.services.context import ServiceContext
from passway.settings import Settings
from passway.store.operations import OperationFilter, OperationStore

_HEADERS = ("TIME", "ID", "METHOD", "PATH", "STATUS", "RESULT", "ERROR", "MS", "INSTALLATION")
FOLLOW_INTERVAL = 1.0  # seconds between polls with --follow


@asynccontextmanager
async def _open(settings: Settings) -> AsyncIterator[tuple[ServiceContext, OperationStore]]:
    from passway.bootstrap import build_runtime
    from passway.catalog import load_catalog

    runtime = await build_runtime(settings, load_catalog(settings.catalog_file))
    try:
        services = ServiceContext(
            store=runtime.store, catalog=runtime.catalog, settings=settings, tokens=runtime.tokens
        )
        yield services, runtime.operation_store
    finally:
        await runtime.aclose()


def _row(r: OperationRecord) -> tuple[Any, ...]:
    view = operation_json(r)
    return (
        view["createTime"],
        r.id,
        r.method,
        r.path,
        r.status,
        view["result"],
        r.error_code or "",
        f"{r.duration_ms:.1f}",
        r.installation_id or "",
    )


@click.group("operations")
def operations_group() -> None:
    """Operations: one per proxy call (``x-passway-request-id`` is the operation's id)."""


@operations_group.command("list")
@project_option
@click.option("--integration", "integration", help="Integration id or name.")
@click.option("--installation", "installation", help="Installation id.")
@click.option("--group-ref", help="The installation's group ref.")
@click.option("--provider", help="Provider name.")
@click.option("--result", type=click.Choice(["success", "failure"]), help="success or failure.")
@click.option("--since", type=click.DateTime(), help="Created at or after (UTC).")
@click.option("--until", type=click.DateTime(), help="Created before (UTC).")
@click.option("--page-size", type=click.IntRange(1, ops.MAX_PAGE_SIZE), default=50)
@click.option("--page-token", help="nextPageToken printed by the previous page.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new operations as they come.")
@json_option
@click.pass_context
@friendly_errors
def list_operations(
    ctx: click.Context,
    project: str,
    integration: str | None,
    installation: str | None,
    group_ref: str | None,
    provider: str | None,
    result: str | None,
    since: datetime | None,
    until: datetime | None,
    page_size: int,
    page_token: str | None,
    follow: bool,
    as_json: bool,
) -> None:
    """A project's operations, newest first (with --follow: then each new one, as it comes)."""

    async def go() -> None:
        async with _open(settings_from(ctx)) as (services, store):
            target = await project_named(services, project)
            integration_id = integration
            if integration is not None:
                found = await services.store.get_integration(target.id, integration)
                integration_id = found.id if found is not None else integration
            where = OperationFilter(
                integration_id=integration_id,
                installation_id=installation,
                group_ref=group_ref,
                provider=provider,
                result=result,
                since=_utc(since),
                until=_utc(until),
            )
            page = await ops.list_operations(
                store, target.id, where, page_size=page_size, page_token=page_token
            )
            if follow:
                # Like ``tail -f``: the latest ones oldest first, then each new one as it comes
                # (with --json, one JSON object per line).
                _print_lines(list(reversed(page.operations)), as_json, header=True)
                newest = page.operations[0].id if page.operations else None
                await _follow(store, target.id, where, newest, as_json)
                return
            emit(
                as_json,
                {
                    "operations": [operation_json(r) for r in page.operations],
                    "nextPageToken": page.next_page_token,
                },
                [_row(r) for r in page.operations],
                _HEADERS,
            )
            if page.next_page_token and not as_json:
                click.echo(f"next page: --page-token {page.next_page_token}", err=True)

    run(go())


async def _follow(
    store: OperationStore,
    project_id: str,
    where: OperationFilter,
    newest: str | None,
    as_json: bool,
) -> None:
    """Print operations newer than ``newest`` (oldest first) every ``FOLLOW_INTERVAL`` seconds."""
    while True:
        await asyncio.sleep(FOLLOW_INTERVAL)
        found = await store.list_operations(project_id, where, limit=1000, before_id=None)
        fresh = [r for r in found if newest is None or r.id > newest]
        _print_lines(list(reversed(fresh)), as_json)
        if fresh:
            newest = fresh[0].id


def _print_lines(records: list[OperationRecord], as_json: bool, *, header: bool = False) -> None:
    if as_json:
        for record in records:
            click.echo(json.dumps(operation_json(record)))
        return
    lines = table(_HEADERS, [_row(r) for r in records]).splitlines()
    for line in lines if header else lines[1:]:
        if line != "(none)":
            click.echo(line)


@operations_group.command("show")
@project_option
@click.argument("operation_id")
@json_option
@click.pass_context
@friendly_errors
def show_operation(ctx: click.Context, project: str, operation_id: str, as_json: bool) -> None:
    """One operation (OPERATION_ID: the call's x-passway-request-id) and its log lines."""

    async def go() -> OperationRecord:
        async with _open(settings_from(ctx)) as (services, store):
            target = await project_named(services, project)
            return await ops.get_operation(store, target.id, operation_id)

    record = run(go())
    view = operation_json(record)
    if as_json:
        click.echo(json.dumps({**view, "logs": list(record.logs or [])}, indent=2))
        return
    width = max(len(k) for k in view)
    for key, value in view.items():
        click.echo(f"{key.ljust(width)}  {'' if value is None else value}")
    for entry in record.logs or []:
        click.echo(f"log  {entry.get('time')} [{entry.get('level')}] {entry.get('message')}")


def _utc(value: datetime | None) -> datetime | None:
    from datetime import UTC

    return None if value is None else value.replace(tzinfo=UTC)
