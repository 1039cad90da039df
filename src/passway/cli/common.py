"""What every CLI command shares: settings, the services over the configured database, output, and
turning errors into one line and exit code 2.

Commands act directly on the database through the services layer, as the operator (they are run
by whoever holds the server's configuration), so they work with the server stopped; running
servers pick the changes up through the store's change feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from functools import wraps
from typing import Any, NoReturn, ParamSpec, TypeVar

import click

from passway.catalog import load_catalog
from passway.cli.flags import describe_for_cli
from passway.errors import PasswayError
from passway.records import Project
from passway.services.access import ADMIN, resolve_project
from passway.services.context import ServiceContext
from passway.settings import Settings, load_settings

P = ParamSpec("P")
T = TypeVar("T")
EXIT_BAD_INPUT = 2


def settings_from(ctx: click.Context, **overrides: Any) -> Settings:
    """Settings from the environment, then the group's options, then this command's flags."""
    options: dict[str, Any] = dict(ctx.find_root().obj or {})
    options.update({k: v for k, v in overrides.items() if v is not None})
    return load_settings(os.environ, **options)


def fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_BAD_INPUT)


def describe(error: PasswayError) -> str:
    """One line: the detail, then each issue as ``flag: what`` (``passway.cli.flags``)."""
    return describe_for_cli(error)


def friendly_errors(command: Callable[P, T]) -> Callable[P, T]:
    """Turn Passway's own errors into ``error: ...`` on stderr and exit code 2 (no traceback)."""

    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return command(*args, **kwargs)
        except PasswayError as error:
            fail(describe(error))
        except OSError as error:
            fail(str(error))

    return wrapper


def run(coroutine: Awaitable[T]) -> T:
    async def _wrap() -> T:
        return await coroutine

    return asyncio.run(_wrap())


@contextlib.asynccontextmanager
async def open_services(settings: Settings) -> AsyncIterator[ServiceContext]:
    """The services over the configured database (migrated to the newest schema on open).

    Built by the same composition root as the server, so the CLI has the same store, keyring and
    token manager (a token refresh from the CLI is coordinated with running servers).
    """
    from passway.bootstrap import build_runtime

    runtime = await build_runtime(settings, load_catalog(settings.catalog_file))
    try:
        yield ServiceContext(
            store=runtime.store, catalog=runtime.catalog, settings=settings, tokens=runtime.tokens
        )
    finally:
        await runtime.aclose()


async def project_named(services: ServiceContext, id_or_name: str) -> Project:
    return await resolve_project(services, ADMIN, id_or_name)


def emit(as_json: bool, data: Any, rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> None:
    """Print ``data`` as JSON (``--json``) or ``rows`` as an aligned table."""
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    click.echo(table(headers, rows))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    if not rows:
        lines.append("(none)")
    return "\n".join(lines)


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
project_option = click.option("--project", "-p", required=True, help="Project id or name.")
optional_project_option = click.option(
    "--project", "-p", help="Project id or name (default: the project holding the id)."
)
