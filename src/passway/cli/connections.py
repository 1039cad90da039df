"""``passway connections import|list|get|refresh|delete``.

Secrets (``--api-key``, ``--password``, ``--access-token``, ``--refresh-token``, ``--custom``
values) may be given as ``-`` to read them from standard input, or ``env:NAME`` to read the
environment variable NAME, so they stay out of the shell history.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import click

from passway.cli.common import (
    emit,
    fail,
    friendly_errors,
    json_option,
    open_services,
    optional_project_option,
    project_named,
    project_option,
    run,
    settings_from,
)
from passway.errors import NotFound
from passway.records import Connection, Credentials, OAuthToken, Project
from passway.services import connections, projects, views
from passway.services.access import ADMIN
from passway.services.connections import NewConnection, RefreshMode
from passway.services.context import ServiceContext


class SecretReader:
    """Resolves ``-`` (standard input, read once) and ``env:NAME`` secret values."""

    def __init__(self) -> None:
        self._stdin_used = False

    def read(self, option: str, value: str | None) -> str | None:
        if value is None:
            return None
        if value == "-":
            if self._stdin_used:
                fail(f"{option}: only one value can come from standard input")
            self._stdin_used = True
            return sys.stdin.readline().rstrip("\r\n")
        if value.startswith("env:"):
            name = value[4:]
            if name not in os.environ:
                fail(f"{option}: environment variable {name} is not set")
            return os.environ[name]
        return value


def pairs(option: str, items: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            fail(f"{option}: expected key=value, got {item.split('=')[0]!r}")
        out[key] = value
    return out


def _expiry(expires_at: str | None, expires_in: int | None, now: datetime) -> datetime | None:
    if expires_at is not None and expires_in is not None:
        fail("give --expires-at or --expires-in, not both")
    if expires_in is not None:
        return now + timedelta(seconds=expires_in)
    if expires_at is None:
        return None
    try:
        parsed = datetime.fromisoformat(expires_at.replace("Z", "+00:00"))
    except ValueError:
        fail(f"--expires-at: not an ISO 8601 time: {expires_at!r}")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


@click.group("connections")
def connections_group() -> None:
    """Connections: stored credentials of one group for one provider."""


@connections_group.command("import")
@project_option
@click.option("--provider", required=True, help="Catalog name of the provider.")
@click.option("--group-ref", required=True)
@click.option("--consumer-ref", required=True)
@click.option("--group-name")
@click.option("--consumer-name")
@click.option("--api-key", help="apiKey providers ('-' = stdin, env:NAME).")
@click.option("--username", help="basic providers, or with --client-id the password grant.")
@click.option(
    "--password", help="With --username: basic, or the password grant ('-' = stdin, env:NAME)."
)
@click.option(
    "--client-id",
    help="oauth2 providers: the client-credentials grant, or with --username the password grant.",
)
@click.option("--client-secret", help="With --client-id ('-' = stdin, env:NAME).")
@click.option("--access-token", help="oauth2 providers: import a token ('-' = stdin, env:NAME).")
@click.option("--refresh-token", help="With --access-token ('-' = stdin, env:NAME).")
@click.option("--expires-at", help="Access token expiry, ISO 8601.")
@click.option("--expires-in", type=int, help="Access token lifetime in seconds from now.")
@click.option("--scope", "scopes", multiple=True, help="Granted scope (repeatable).")
@click.option("--custom", multiple=True, help="custom providers: input=value (repeatable).")
@click.option("--workspace", help="providerWorkspaceRef.")
@click.option("--metadata", multiple=True, help="providerMetadata name=value (repeatable).")
@json_option
@click.pass_context
@friendly_errors
def import_connection(
    ctx: click.Context,
    /,
    project: str,
    as_json: bool,
    scopes: tuple[str, ...],
    custom: tuple[str, ...],
    metadata: tuple[str, ...],
    expires_in: int | None,
    **text: str | None,
) -> None:
    """Create a connection from an existing credential."""
    new = _new_connection(
        text, scopes=scopes, custom=custom, metadata=metadata, expires_in=expires_in
    )

    async def go() -> Connection:
        async with open_services(settings_from(ctx)) as services:
            target = await project_named(services, project)
            return await connections.generate_connection(services, target, new)

    connection = run(go())
    emit(as_json, views.connection_json(connection), [_row(connection)], _HEADERS)


def _new_connection(
    text: dict[str, str | None],
    *,
    scopes: tuple[str, ...],
    custom: tuple[str, ...],
    metadata: tuple[str, ...],
    expires_in: int | None,
) -> NewConnection:
    """The service input from the flags; ``text`` holds the plain string options by name."""
    secrets = SecretReader()
    given: dict[str, Credentials] = {}
    api_key = secrets.read("--api-key", text["api_key"])
    if api_key is not None:
        given["apiKey"] = Credentials(api_key=api_key)
    password = secrets.read("--password", text["password"])
    client_id = text["client_id"]
    client_secret = secrets.read("--client-secret", text["client_secret"])
    if client_id is None and client_secret is not None:
        fail("--client-secret needs --client-id")
    if client_id is not None:
        # Grants Passway runs itself: it asks the provider for the first token now.
        grant = Credentials(client_id=client_id, client_secret=client_secret, scopes=scopes)
        if text["username"] is not None or password is not None:
            given["oauth2PasswordCredentials"] = replace(
                grant, username=text["username"], password=password
            )
        else:
            given["oauth2ClientCredentials"] = grant
    elif text["username"] is not None or password is not None:
        given["basicAuth"] = Credentials(username=text["username"], password=password)
    access = secrets.read("--access-token", text["access_token"])
    refresh = secrets.read("--refresh-token", text["refresh_token"])
    if access is not None:
        now = datetime.now(UTC)
        given["oauth2AuthorizationCode"] = Credentials(
            access_token=OAuthToken(
                access, issued_at=now, expires_at=_expiry(text["expires_at"], expires_in, now)
            ),
            refresh_token=OAuthToken(refresh) if refresh is not None else None,
            scopes=scopes,
        )
    elif refresh is not None:
        fail("--refresh-token needs --access-token")
    inputs = pairs("--custom", custom)
    if inputs:
        resolved = {k: secrets.read(f"--custom {k}", v) or "" for k, v in inputs.items()}
        given["customAuth"] = Credentials(custom=resolved)
    return NewConnection(
        provider=text["provider"] or "",
        group_ref=text["group_ref"] or "",
        consumer_ref=text["consumer_ref"] or "",
        credentials=given,
        group_name=text["group_name"],
        consumer_name=text["consumer_name"],
        provider_workspace_ref=text["workspace"],
        provider_metadata=pairs("--metadata", metadata),
    )


@connections_group.command("list")
@project_option
@click.option("--provider")
@click.option("--group-ref")
@click.option("--consumer-ref")
@json_option
@click.pass_context
@friendly_errors
def list_connections(
    ctx: click.Context,
    project: str,
    provider: str | None,
    group_ref: str | None,
    consumer_ref: str | None,
    as_json: bool,
) -> None:
    """List connections (never their credentials)."""

    async def go() -> list[Connection]:
        async with open_services(settings_from(ctx)) as services:
            return await connections.list_connections(
                services,
                await project_named(services, project),
                provider=provider,
                group_ref=group_ref,
                consumer_ref=consumer_ref,
            )

    found = run(go())
    emit(as_json, [views.connection_json(c) for c in found], [_row(c) for c in found], _HEADERS)


_HEADERS = ("ID", "PROVIDER", "GROUP", "CONSUMER", "AUTH", "STATUS")


def _row(c: Connection) -> tuple[str, ...]:
    return (c.id, c.provider, c.group_ref, c.consumer_ref, c.auth_scheme, c.status)


@connections_group.command("get")
@optional_project_option
@click.argument("connection_id")
@json_option
@click.pass_context
@friendly_errors
def get_connection(
    ctx: click.Context, project: str | None, connection_id: str, as_json: bool
) -> None:
    """Show the connection CONNECTION_ID (never its credentials)."""
    connection = run(_get(ctx, project, connection_id, None))
    emit(as_json, views.connection_json(connection), [_row(connection)], _HEADERS)


@connections_group.command("refresh")
@optional_project_option
@click.argument("connection_id")
@click.option(
    "--if-expired", is_flag=True, help="Only when the token is about to expire (default: always)."
)
@json_option
@click.pass_context
@friendly_errors
def refresh_connection(
    ctx: click.Context, project: str | None, connection_id: str, if_expired: bool, as_json: bool
) -> None:
    """Refresh the OAuth access token of the connection CONNECTION_ID now."""
    connection = run(_get(ctx, project, connection_id, "ifExpired" if if_expired else "force"))
    emit(as_json, views.connection_json(connection), [_row(connection)], _HEADERS)
    if not as_json:
        expiry = connection.credentials.access_token
        when = views.rfc3339(expiry.expires_at) if expiry is not None else None
        click.echo(f"Access token valid until {when or 'an unknown time'}.", err=True)


async def _get(
    ctx: click.Context, project: str | None, connection_id: str, refresh: RefreshMode | None
) -> Connection:
    async with open_services(settings_from(ctx)) as services:
        target = await _owner(services, project, connection_id)
        return await connections.get_connection(services, target, connection_id, refresh)


@connections_group.command("delete")
@optional_project_option
@click.argument("connection_id")
@click.pass_context
@friendly_errors
def delete_connection(ctx: click.Context, project: str | None, connection_id: str) -> None:
    """Delete the connection CONNECTION_ID (its installations must be deleted first)."""

    async def go() -> None:
        async with open_services(settings_from(ctx)) as services:
            target = await _owner(services, project, connection_id)
            await connections.delete_connection(services, target, connection_id)

    run(go())
    click.echo(f"Deleted connection {connection_id}.")


async def _owner(services: ServiceContext, project: str | None, connection_id: str) -> Project:
    """The project named, or else the one that holds the connection (ids are unique)."""
    if project is not None:
        return await project_named(services, project)
    for candidate in await projects.list_projects(services, ADMIN):
        found = await connections.list_connections(services, candidate)
        if any(c.id == connection_id for c in found):
            return candidate
    raise NotFound(f"Connection {connection_id!r} not found.")
