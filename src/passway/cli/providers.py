"""``passway providers [NAME]``: browse the provider catalog."""

from __future__ import annotations

import json

import click

from passway.catalog import load_catalog
from passway.cli.common import emit, friendly_errors, json_option, settings_from
from passway.services.providers import find_providers, get_provider


@click.command()
@click.argument("name", required=False)
@click.option(
    "--auth-type", type=click.Choice(["oauth2", "apiKey", "basic", "custom"]), help="Filter."
)
@click.option("--search", help="Part of the name or display name.")
@json_option
@click.pass_context
@friendly_errors
def providers(
    ctx: click.Context, name: str | None, auth_type: str | None, search: str | None, as_json: bool
) -> None:
    """List the catalog, or show provider NAME in full (JSON)."""
    catalog = load_catalog(settings_from(ctx).catalog_file)
    if name is not None:
        click.echo(json.dumps(get_provider(catalog, name).to_json(), indent=2))
        return
    found = find_providers(catalog, auth_type=auth_type, search=search)
    emit(
        as_json,
        [p.to_json() for p in found],
        [
            (
                p.name,
                p.display_name,
                p.auth_type,
                p.grant_type or "",
                "yes" if p.support.proxy else "no",
            )
            for p in found
        ],
        ("NAME", "DISPLAY NAME", "AUTH", "GRANT", "PROXY"),
    )
