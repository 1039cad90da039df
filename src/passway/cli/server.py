"""``passway serve``, ``passway migrate`` and ``passway keys rotate|rewrap``."""

from __future__ import annotations

import os
from typing import Any

import click

from passway.cli.common import friendly_errors, run, settings_from
from passway.cli.launch import announcement, check_before_start
from passway.cli.settings_options import flag_values, settings_options


@click.command()
@settings_options
@click.pass_context
@friendly_errors
def serve(ctx: click.Context, /, **options: Any) -> None:
    """Run the Passway server (proxy and management API). Every setting has a flag here; secrets
    (PASSWAY_ADMIN_API_KEY, PASSWAY_ENCRYPTION_KEYS) come from the environment only."""
    from passway.frontdoor import run as run_front_door
    from passway.observability.logs import logging_config
    from passway.observability.metrics import fresh_multiprocess_dir, remove_dir

    settings = settings_from(ctx, **flag_values(options))
    check_before_start(settings)

    def announce() -> None:
        click.echo(announcement(settings), err=True)
        click.echo(f"Data directory: {settings.data_dir}", err=True)

    # Several workers add their metrics up in one directory, fresh for this run (removed after);
    # the workers inherit its name through the environment.
    metrics_dir = fresh_multiprocess_dir(os.environ) if settings.workers > 1 else None
    try:
        status = run_front_door(
            settings,
            logging_config(settings.log_level, settings.log_format),
            on_ready=announce,
            metrics_dir=metrics_dir,
        )
    finally:
        if metrics_dir is not None:
            remove_dir(metrics_dir)
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
