"""Writing a token call's outcome to the store: new tokens, or a revoked grant.

Both writes use the connection's version (``update_connection(..., expected_version=...)``) and
retry over concurrent writes of other fields. A concurrent write that replaced the grant itself (a
re-authorization, new client credentials) wins: our result belongs to the old grant and is dropped.
The write completes before anyone is handed the new access token, so a crash right after it cannot
lose a rotated refresh token.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from passway.core.tokens import TokenResponse, credentials_after_token_response
from passway.errors import Conflict, ConnectionNeedsReauthorization, TokenEndpointError
from passway.notifications import events
from passway.records import Connection
from passway.store.protocol import ConnectionStore

_ATTEMPTS = 5


def grant_of(connection: Connection) -> tuple[str | None, str | None]:
    """What identifies the grant a token call used: the refresh token, or the client secret."""
    creds = connection.credentials
    refresh = creds.refresh_token.token if creds.refresh_token is not None else None
    return refresh, creds.client_secret


def reauthorization_error(connection: Connection, why: str) -> ConnectionNeedsReauthorization:
    return ConnectionNeedsReauthorization(
        f"Connection {connection.id} of group {connection.group_ref!r} ({connection.provider}): "
        f"{why}; the customer must re-authorize",
        context={
            "connectionId": connection.id,
            "groupRef": connection.group_ref,
            "provider": connection.provider,
        },
    )


async def store_new_tokens(
    store: ConnectionStore, current: Connection, response: TokenResponse, now: datetime
) -> Connection:
    """Store the token response on the connection (the old refresh token kept if none came)."""
    used = grant_of(current)
    for _ in range(_ATTEMPTS):
        updated = replace(
            current,
            credentials=credentials_after_token_response(current.credentials, response, now),
            update_time=now,
        )
        try:
            return await store.update_connection(
                updated,
                expected_version=current.version,
                events=[events.connection_refreshed(updated, now)],
            )
        except Conflict:
            latest = await store.get_connection_by_id(current.id)
            if latest is None:
                raise
            if grant_of(latest) != used:
                return latest
            current = latest
    raise TokenEndpointError("Could not store the refreshed token (too many concurrent writes)")


async def mark_revoked(
    store: ConnectionStore, current: Connection, now: datetime, reason: str
) -> None:
    """Status ``bad_credentials``, unless a concurrent write already replaced the grant; a
    ``connection.error`` event saying ``reason`` is written with it (once, on the transition)."""
    used = grant_of(current)
    for _ in range(_ATTEMPTS):
        updated = replace(current, status="bad_credentials", update_time=now)
        notify = []
        if current.status != "bad_credentials":
            notify = [events.connection_error(updated, [reason], now)]
        try:
            await store.update_connection(updated, expected_version=current.version, events=notify)
            return
        except Conflict:
            latest = await store.get_connection_by_id(current.id)
            if latest is None or grant_of(latest) != used:
                return
            current = latest
