"""``passway serve``, ``passway migrate`` and ``passway keys rotate|rewrap``."""

from __future__ import annotations

import copy
import math
import os
from typing import Any

import click

from passway.cli.common import friendly_errors, run, settings_from
from passway.cli.launch import check_before_start, run_uvicorn
from passway.cli.settings_options import flag_values, settings_environment, settings_options


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
@settings_options
@click.pass_context
@friendly_errors
def serve(ctx: click.Context, /, **options: Any) -> None:
    """Run the Passway server (proxy and management API). Every setting has a flag here; secrets
    (PASSWAY_ADMIN_API_KEY, PASSWAY_ENCRYPTION_KEYS) come from the environment only."""
    settings = settings_from(ctx, **flag_values(options))
    check_before_start(settings)
    # Workers re-read the environment (uvicorn factory), so the flags travel through it.
    os.environ.update(settings_environment(settings))
    run_uvicorn(
        settings,
        app="passway.bootstrap:create_app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=settings.access_log,
        log_level=settings.log_level,
        log_config=_log_config(settings.log_level),
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
