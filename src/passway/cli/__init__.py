"""The ``passway`` command line: run the server, and manage projects, keys, amp.yaml deployments,
connections and installations directly on the configured database."""

from __future__ import annotations

from pathlib import Path

import click

from passway.cli.config import config
from passway.cli.connections import connections_group
from passway.cli.doctor import doctor
from passway.cli.integrations import deploy, installations_group, integrations_group
from passway.cli.notifications import destinations_group, notifications_group, routes_group
from passway.cli.operations import operations_group
from passway.cli.projects import api_keys_group, projects_group
from passway.cli.providers import providers
from passway.cli.server import keys, migrate, serve


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="passway", prog_name="passway")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the SQLite database and key file live (PASSWAY_DATA_DIR).",
)
@click.option("--database-url", help="Database URL (PASSWAY_DATABASE_URL; default SQLite).")
@click.pass_context
def main(ctx: click.Context, data_dir: Path | None, database_url: str | None) -> None:
    """Passway: call your customers' SaaS APIs with their stored credentials."""
    ctx.obj = {k: v for k, v in {"data_dir": data_dir, "database_url": database_url}.items() if v}


for command in (
    serve,
    migrate,
    keys,
    projects_group,
    api_keys_group,
    deploy,
    integrations_group,
    connections_group,
    installations_group,
    operations_group,
    providers,
    config,
    doctor,
    destinations_group,
    routes_group,
    notifications_group,
):
    main.add_command(command)

__all__ = ["main"]
