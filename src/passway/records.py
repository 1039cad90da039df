"""The domain records Passway stores, as plain frozen values.

Stores take and return these; secrets inside ``Credentials`` are plaintext here and encrypted only
by the SQL store on its way to disk. Times are timezone-aware UTC ``datetime``s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

AuthScheme = Literal[
    "none",
    "apiKey",
    "basic",
    "custom",
    "oauth2/authorizationCode",
    "oauth2/authorizationCodePKCE",
    "oauth2/clientCredentials",
    "oauth2/password",
]
ConnectionStatus = Literal["created", "working", "bad_credentials"]
MetadataSource = Literal["input", "token", "provider"]


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    name: str
    app_name: str | None
    create_time: datetime
    update_time: datetime


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A project API key. Only ``prefix`` (for lookup) and ``key_hash`` are kept, never the key."""

    id: str
    project_id: str
    prefix: str
    key_hash: str
    label: str
    scopes: tuple[str, ...]
    active: bool
    create_time: datetime
    update_time: datetime


@dataclass(frozen=True, slots=True)
class Integration:
    """One integration deployed from amp.yaml. ``spec`` is its amp.yaml entry as JSON."""

    id: str
    project_id: str
    name: str
    display_name: str | None
    provider: str
    module: str | None
    proxy_enabled: bool
    use_module: bool
    spec: Mapping[str, Any]
    create_time: datetime
    update_time: datetime


@dataclass(frozen=True, slots=True)
class OAuthToken:
    token: str
    issued_at: datetime | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Credentials:
    """Everything secret about a connection. Encrypted at rest as one value."""

    api_key: str | None = None
    username: str | None = None
    password: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    scopes: tuple[str, ...] = ()
    access_token: OAuthToken | None = None
    refresh_token: OAuthToken | None = None
    custom: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MetadataValue:
    value: str
    source: MetadataSource = "input"


@dataclass(frozen=True, slots=True)
class Connection:
    """One stored SaaS credential of one group (and consumer) for one provider.

    ``version`` grows by one on every write; writers pass the version they read so that two
    concurrent updates cannot silently overwrite each other (tokens above all).
    """

    id: str
    project_id: str
    provider: str
    group_ref: str
    group_name: str | None
    consumer_ref: str
    consumer_name: str | None
    provider_workspace_ref: str | None
    provider_consumer_ref: str | None
    provider_metadata: Mapping[str, MetadataValue]
    auth_scheme: AuthScheme
    status: ConnectionStatus
    credentials: Credentials
    provider_app_id: str | None
    version: int
    create_time: datetime
    update_time: datetime


@dataclass(frozen=True, slots=True)
class Installation:
    """One group's install of one integration, tied to one connection."""

    id: str
    project_id: str
    integration_id: str
    group_ref: str
    group_name: str | None
    connection_id: str
    health_status: str
    config: Mapping[str, Any]
    create_time: datetime
    update_time: datetime


@dataclass(frozen=True, slots=True)
class ProviderApp:
    """The developer's OAuth client for one provider. ``client_secret`` is encrypted at rest."""

    id: str
    project_id: str
    provider: str
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]
    external_ref: str | None
    create_time: datetime
    update_time: datetime


@dataclass(frozen=True, slots=True)
class OAuthState:
    """A pending authorization-code flow. ``id`` is a hash of the random ``state`` sent to the
    provider; ``code_verifier`` (PKCE) is secret and encrypted at rest."""

    id: str
    project_id: str
    provider: str
    group_ref: str
    group_name: str | None
    consumer_ref: str
    consumer_name: str | None
    provider_workspace_ref: str | None
    provider_metadata: Mapping[str, str]
    provider_app_id: str | None
    code_verifier: str | None
    redirect_uri: str
    redirect_after: str | None
    connection_id: str | None
    expires_at: datetime
    create_time: datetime


@dataclass(frozen=True, slots=True)
class Change:
    """One entry of the change feed that lets every worker drop stale cache entries."""

    seq: int
    project_id: str
    kind: str
    entity_id: str
