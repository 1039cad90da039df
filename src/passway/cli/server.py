"""``passway serve``, ``passway migrate`` and ``passway keys rotate|rewrap``."""

from __future__ import annotations

import copy
from typing import Any

import click

from passway.cli.common import friendly_errors, run, settings_from


def _log_config(level: str) -> dict[str, Any]:
    """uvicorn's logging set-up, with Passway's own loggers printed the same way at ``level``."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["passway"] = {
        "handlers": ["default"],
        "level": level.upper(),
        "propagate": False,
    }
    return config


@click.command()
@click.option("--host", help="Address to listen on (PASSWAY_HOST, default 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (PASSWAY_PORT, default 8080).")
@click.option(
    "--admin-host",
    help="Address of the admin port (PASSWAY_ADMIN_HOST, default: the same as --host).",
)
@click.option(
    "--admin-port",
    type=int,
    help="Serve the management API, OAuth callback and pages on this port instead of the main "
    "one, which then serves proxy calls and /healthz only (PASSWAY_ADMIN_PORT, default off).",
)
@click.option(
    "--proxy-port",
    type=int,
    help="Deprecated: proxy calls take the same fast path on the main port. Opens one more port "
    "serving proxy calls only (PASSWAY_PROXY_PORT, default off).",
)
@click.option("--workers", type=int, help="Worker processes (PASSWAY_WORKERS, default 1).")
@click.option("--database-url", help="Database URL (PASSWAY_DATABASE_URL; default SQLite).")
@click.pass_context
@friendly_errors
def serve(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    admin_host: str | None,
    admin_port: int | None,
    proxy_port: int | None,
    workers: int | None,
    database_url: str | None,
) -> None:
    """Run the Passway server (proxy and management API)."""
    from passway.frontdoor import run as run_front_door

    settings = settings_from(
        ctx,
        host=host,
        port=port,
        admin_host=admin_host,
        admin_port=admin_port,
        proxy_port=proxy_port,
        workers=workers,
        database_url=database_url,
    )
    workers_note = f"{settings.workers} worker{'s' if settings.workers != 1 else ''}"
    if settings.admin_port is not None:
        where = (
            f"Passway serving proxy calls on http://{settings.host}:{settings.port}, "
            f"the management API and API docs (/docs) on "
            f"http://{settings.admin_port_host}:{settings.admin_port}"
        )
    else:
        where = f"Passway listening on http://{settings.host}:{settings.port}; API docs at /docs"
    if settings.proxy_port is not None:
        where += f"; proxy calls also on http://{settings.host}:{settings.proxy_port} (deprecated)"
    click.echo(f"{where} ({workers_note})", err=True)
    click.echo(f"Data directory: {settings.data_dir}", err=True)
    status = run_front_door(settings, _log_config(settings.log_level))
    if status:
        raise SystemExit(status)


@click.command()
@click.pass_context
@friendly_errors
def migrate(ctx: click.Context) -> None:
    """Create or upgrade the database schema (the server also does this on start)."""
    from passway.store.migrate import upgrade

    settings = settings_from(ctx)
    run(upgrade(settings.resolved_database_url))
    click.echo("Database schema is up to date.")


@click.group()
def keys() -> None:
    """Encryption keys of stored credentials."""


@keys.command()
@click.pass_context
@friendly_errors
def rotate(ctx: click.Context) -> None:
    """Add a new primary key to the key file and re-encrypt every secret with it."""
    from passway.store.maintenance import rotate_keys

    kid, count = run(rotate_keys(settings_from(ctx)))
    click.echo(f"New primary key {kid}; re-encrypted {count} value(s).")


@keys.command()
@click.pass_context
@friendly_errors
def rewrap(ctx: click.Context) -> None:
    """Re-encrypt every secret with the primary key (after adding a key by hand)."""
    from passway.store.maintenance import rewrap as rewrap_all

    count = run(rewrap_all(settings_from(ctx)))
    click.echo(f"Re-encrypted {count} value(s).")
