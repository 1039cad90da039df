"""Which OAuth client (ID and secret) a connection's token calls authenticate with.

Authorization-code connections refresh with the developer's provider app: the one the connection
was authorized with (``provider_app_id``), else the client stored on the connection itself, else
the project's app for that provider (imported connections).
"""

from __future__ import annotations

from passway.catalog import Provider
from passway.errors import InvalidRequest
from passway.oauth import grants
from passway.oauth.client import ClientAuth
from passway.records import Connection, ProviderApp
from passway.store.protocol import OAuthStore


async def find_provider_app(
    store: OAuthStore, project_id: str, provider: str, app_id: str | None
) -> ProviderApp | None:
    """The app named by ``app_id``, or the project's newest app for ``provider``."""
    if app_id:
        app = await store.get_provider_app(project_id, app_id)
        return app if app is not None and app.provider == provider else None
    apps = [a for a in await store.list_provider_apps(project_id) if a.provider == provider]
    apps.sort(key=lambda a: a.create_time, reverse=True)
    return apps[0] if apps else None


async def client_auth_for(
    store: OAuthStore, provider: Provider, connection: Connection
) -> ClientAuth:
    if connection.provider_app_id:
        app = await store.get_provider_app(connection.project_id, connection.provider_app_id)
        if app is not None:
            return grants.client_auth(provider, app.client_id, app.client_secret)
    creds = connection.credentials
    if creds.client_id:
        return grants.client_auth(provider, creds.client_id, creds.client_secret)
    app = await find_provider_app(store, connection.project_id, connection.provider, None)
    if app is None:
        raise InvalidRequest(
            f"No provider app for {connection.provider} in this project: cannot refresh the token",
            context={"connectionId": connection.id, "provider": connection.provider},
        )
    return grants.client_auth(provider, app.client_id, app.client_secret)
