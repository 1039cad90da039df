"""Valid domain records for store tests, with predictable, increasing create times."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from passway.records import (
    ApiKey,
    Connection,
    Credentials,
    Installation,
    Integration,
    MetadataValue,
    OAuthState,
    OAuthToken,
    Project,
    ProviderApp,
)
from passway.store.notifications import Destination

T0 = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Records:
    """Builds valid records; each call gets a later ``create_time`` so list order is predictable."""

    tick: int = 0
    defaults: dict[str, Any] = field(default_factory=dict)

    def _time(self) -> datetime:
        self.tick += 1
        return T0 + timedelta(seconds=self.tick)

    def project(self, name: str | None = None) -> Project:
        t = self._time()
        return Project(new_id(), name or f"p-{uuid.uuid4().hex[:10]}", "App", t, t)

    def api_key(self, project_id: str, prefix: str = "abcdefghijkl", **kw: Any) -> ApiKey:
        t = self._time()
        values: dict[str, Any] = {
            "id": new_id(),
            "project_id": project_id,
            "prefix": prefix,
            "key_hash": "0" * 64,
            "label": "ci",
            "scopes": ("proxy",),
            "active": True,
            "create_time": t,
            "update_time": t,
        }
        values.update(kw)
        return ApiKey(**values)

    def integration(self, project_id: str, name: str = "crm", **kw: Any) -> Integration:
        t = self._time()
        values: dict[str, Any] = {
            "id": new_id(),
            "project_id": project_id,
            "name": name,
            "display_name": None,
            "provider": "salesforce",
            "module": None,
            "proxy_enabled": True,
            "use_module": False,
            "spec": {"name": name, "provider": "salesforce", "proxy": {"enabled": True}},
            "create_time": t,
            "update_time": t,
        }
        values.update(kw)
        return Integration(**values)

    def credentials(self) -> Credentials:
        return Credentials(
            client_id="cid",
            client_secret="csecret-" + uuid.uuid4().hex,
            scopes=("read", "write"),
            access_token=OAuthToken("at-" + uuid.uuid4().hex, T0, T0 + timedelta(hours=1)),
            refresh_token=OAuthToken("rt-" + uuid.uuid4().hex),
            custom={"tenant": "t-1"},
        )

    def connection(self, project_id: str, group_ref: str = "g1", **kw: Any) -> Connection:
        t = self._time()
        values: dict[str, Any] = {
            "id": new_id(),
            "project_id": project_id,
            "provider": "salesforce",
            "group_ref": group_ref,
            "group_name": "Group",
            "consumer_ref": "u1",
            "consumer_name": "User",
            "provider_workspace_ref": "acme",
            "provider_consumer_ref": None,
            "provider_metadata": {"instance": MetadataValue("na1", "token")},
            "auth_scheme": "oauth2/authorizationCode",
            "status": "working",
            "credentials": self.credentials(),
            "provider_app_id": None,
            "version": 1,
            "create_time": t,
            "update_time": t,
        }
        values.update(kw)
        return Connection(**values)

    def installation(
        self, integration: Integration, connection: Connection, group_ref: str = "g1", **kw: Any
    ) -> Installation:
        t = self._time()
        values: dict[str, Any] = {
            "id": new_id(),
            "project_id": integration.project_id,
            "integration_id": integration.id,
            "group_ref": group_ref,
            "group_name": "Group",
            "connection_id": connection.id,
            "health_status": "healthy",
            "config": {"content": {"proxy": {"enabled": True}}},
            "create_time": t,
            "update_time": t,
        }
        values.update(kw)
        return Installation(**values)

    def provider_app(self, project_id: str, **kw: Any) -> ProviderApp:
        t = self._time()
        values: dict[str, Any] = {
            "id": new_id(),
            "project_id": project_id,
            "provider": "salesforce",
            "client_id": "client-1",
            "client_secret": "app-secret-" + uuid.uuid4().hex,
            "scopes": ("api",),
            "external_ref": None,
            "create_time": t,
            "update_time": t,
        }
        values.update(kw)
        return ProviderApp(**values)

    def oauth_state(self, project_id: str, expires_in: float = 600, **kw: Any) -> OAuthState:
        t = self._time()
        values: dict[str, Any] = {
            "id": uuid.uuid4().hex,
            "project_id": project_id,
            "provider": "salesforce",
            "group_ref": "g1",
            "group_name": None,
            "consumer_ref": "u1",
            "consumer_name": None,
            "provider_workspace_ref": None,
            "provider_metadata": {"region": "eu"},
            "provider_app_id": None,
            "code_verifier": "verifier-" + uuid.uuid4().hex,
            "redirect_uri": "http://127.0.0.1:8080/callbacks/v1/oauth",
            "redirect_after": None,
            "connection_id": None,
            "expires_at": t + timedelta(seconds=expires_in),
            "create_time": t,
        }
        values.update(kw)
        return OAuthState(**values)


def webhook_destination(
    name: str, project_id: str = "p1", created: datetime = T0, **kw: Any
) -> Destination:
    """A valid, enabled webhook destination with id ``d-<name>-<project_id>``; ``kw`` overrides."""
    values: dict[str, Any] = {
        "id": f"d-{name}-{project_id}",
        "project_id": project_id,
        "name": name,
        "type": "webhook",
        "url": "https://hooks.example.com/x",
        "headers": {"X-A": "1"},
        "secret": "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXM=",
        "enabled": True,
        "failing_since": None,
        "disabled_reason": None,
        "create_time": created,
        "update_time": created,
    }
    values.update(kw)
    return Destination(**values)
