"""``passway config``: the settings in force, secrets masked, and where each came from."""

from __future__ import annotations

import os
from typing import Any

import click

from passway.cli.common import emit, friendly_errors, json_option, settings_from
from passway.cli.settings_options import (
    SETTINGS,
    flag_values,
    settings_options,
    settings_sources,
    shown_value,
)


def given_flags(ctx: click.Context, options: dict[str, Any]) -> dict[str, Any]:
    """The settings set by flags: the group's (``--data-dir``, ``--database-url``) and these."""
    return {**(ctx.find_root().obj or {}), **flag_values(options)}


@click.command("config")
@settings_options
@json_option
@click.pass_context
@friendly_errors
def config(ctx: click.Context, /, as_json: bool, **options: Any) -> None:
    """Print the settings in force (as `passway serve` with the same flags would use them),
    secrets masked, and where each came from: a flag, a PASSWAY_* variable, or the default."""
    flags = given_flags(ctx, options)
    settings = settings_from(ctx, **flag_values(options))
    sources = settings_sources(os.environ, flags)
    rows = []
    data = []
    for spec in SETTINGS:
        value = shown_value(spec, getattr(settings, spec.name))
        if spec.name == "database_url" and not value:
            value = f"(SQLite at {settings.data_dir / 'passway.db'})"
        if spec.name == "key_file" and not value and not settings.encryption_keys:
            value = f"({settings.resolved_key_file})"
        value = value or "(unset)"
        kind, where = sources[spec.name]
        origin = f"{kind} {where}".strip()
        rows.append((spec.env, value, origin))
        data.append({"name": spec.name, "variable": spec.env, "value": value, "source": kind})
    emit(as_json, data, rows, ("SETTING", "VALUE", "FROM"))
