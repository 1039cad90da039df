"""``passway serve``, ``passway migrate`` and ``passway keys rotate|rewrap``."""

from __future__ import annotations

import math
import os
from typing import Any

import click

from passway.cli.common import friendly_errors, run, settings_from
from passway.settings import Settings


@click.command()
@click.option("--host", help="Address to listen on (PASSWAY_HOST, default 127.0.0.1).")
@click.option("--port", type=int, help="Port to listen on (PASSWAY_PORT, default 8080).")
@click.option(
    "--proxy-port",
    type=int,
    help="Also serve proxy calls on this port, without uvicorn: about a quarter less CPU per "
    "call (PASSWAY_PROXY_PORT, default off).",
)
@click.option("--workers", type=int, help="Worker processes (PASSWAY_WORKERS, default 1).")
@click.option("--database-url", help="Database URL (PASSWAY_DATABASE_URL; default SQLite).")
@click.pass_context
@friendly_errors
def serve(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    proxy_port: int | None,
    workers: int | None,
    database_url: str | None,
) -> None:
    """Run the Passway server (proxy and management API)."""
    settings = settings_from(
        ctx,
        host=host,
        port=port,
        proxy_port=proxy_port,
        workers=workers,
        database_url=database_url,
    )
    # Workers re-read the environment (uvicorn factory), so the flags travel through it.
    for name, value in (
        ("HOST", settings.host),
        ("PORT", settings.port),
        ("WORKERS", settings.workers),
        ("DATABASE_URL", settings.database_url),
        ("DATA_DIR", settings.data_dir),
        ("PROXY_PORT", "" if settings.proxy_port is None else settings.proxy_port),
    ):
        os.environ[f"PASSWAY_{name}"] = str(value)
    proxy_note = (
        f"; proxy calls also on http://{settings.host}:{settings.proxy_port}"
        if settings.proxy_port is not None
        else ""
    )
    click.echo(
        f"Passway listening on http://{settings.host}:{settings.port} "
        f"({settings.workers} worker{'s' if settings.workers != 1 else ''}); "
        f"API docs at /docs{proxy_note}",
        err=True,
    )
    from passway.observability.logs import logging_config
    from passway.observability.metrics import fresh_multiprocess_dir, remove_dir

    # Several workers add their metrics up in one directory, fresh for this run (removed after).
    metrics_dir = fresh_multiprocess_dir(os.environ) if settings.workers > 1 else None
    try:
        _run_uvicorn(settings, logging_config(settings.log_level, settings.log_format))
    finally:
        if metrics_dir is not None:
            remove_dir(metrics_dir)


def _run_uvicorn(settings: Settings, log_config: dict[str, Any]) -> None:
    import uvicorn

    uvicorn.run(
        "passway.bootstrap:create_app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=settings.access_log,
        log_level=settings.log_level,
        log_config=log_config,
        # The provider's own Date and Server headers are relayed; uvicorn must not add second ones.
        server_header=False,
        date_header=False,
        # Passway is addressed directly; X-Forwarded-* from clients must not rewrite the peer.
        proxy_headers=False,
        # Longer than client pools keep idle connections (uvicorn's own default is 5 s); uvicorn
        # counts whole seconds.
        timeout_keep_alive=max(1, math.ceil(settings.keep_alive_timeout)),
    )


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
