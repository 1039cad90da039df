"""The JSON shapes of Passway's management API, as ``TypedDict``s with the API's own field names.

Times are RFC 3339 UTC strings (``2026-01-02T03:04:05Z``). Fields Passway may add later are kept in
the dictionaries as they arrive; ``total=False`` marks shapes whose fields depend on the kind of
record (a provider's auth type, a connection's credentials asked for or not).
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict


class Project(TypedDict):
    id: str
    name: str
    appName: str | None
    createTime: str
    updateTime: str


class ApiKey(TypedDict):
    id: str
    # The raw key right after creation (shown once), a masked form ever after.
    key: str
    keyPrefix: str
    label: str
    scopes: list[str]
    projectId: str
    active: bool
    createTime: str
    updateTime: str


class ProxySettings(TypedDict):
    enabled: bool
    useModule: bool


class Integration(TypedDict):
    id: str
    projectId: str
    name: str
    displayName: str | None
    provider: str
    module: str | None
    proxy: ProxySettings
    content: dict[str, Any]
    createTime: str
    updateTime: str


class Deployment(TypedDict):
    integrations: list[Integration]
    warnings: list[str]


class Group(TypedDict):
    groupRef: str
    groupName: str | None


class Consumer(TypedDict):
    consumerRef: str
    consumerName: str | None


class MetadataValue(TypedDict):
    value: str
    source: str


class Token(TypedDict):
    token: str
    issuedAt: str | None
    expiresAt: str | None


class Connection(TypedDict, total=False):
    id: str
    createTime: str
    updateTime: str
    projectId: str
    provider: str
    group: Group
    consumer: Consumer
    providerWorkspaceRef: str | None
    providerConsumerRef: str | None
    providerMetadata: dict[str, MetadataValue]
    authScheme: str
    status: str
    # Only with include_creds (one of these, by the connection's kind of credential).
    apiKey: str
    basicAuth: dict[str, str]
    customAuth: dict[str, str]
    oauth2AuthorizationCode: dict[str, Any]
    oauth2ClientCredentials: dict[str, Any]
    oauth2PasswordCredentials: dict[str, Any]


class Installation(TypedDict, total=False):
    id: str
    projectId: str
    integrationId: str
    group: Group
    # The connection in use (the full connection, or only ``{"id": ...}``).
    connection: dict[str, Any]
    healthStatus: str
    lastOperationStatus: str
    createTime: str
    updateTime: str
    config: dict[str, Any]


class ProviderSupport(TypedDict):
    proxy: bool
    read: bool
    write: bool
    subscribe: bool
    delete: bool


class Provider(TypedDict, total=False):
    name: str
    displayName: str
    authType: Literal["oauth2", "apiKey", "basic", "custom", "none"]
    baseURL: str
    support: ProviderSupport
    templateVars: list[str]
    postAuthInfoNeeded: bool
    grantType: str
    authURL: str
    tokenURL: str
    explicitScopesRequired: bool
    explicitWorkspaceRequired: bool


class ProviderApp(TypedDict):
    id: str
    projectId: str
    provider: str
    clientId: str
    scopes: list[str]
    externalRef: str | None
    createTime: str
    updateTime: str


# Resources of newer Passway versions: their fields are documented by the server's OpenAPI
# document (``/v1/openapi.json``); the client passes them through as dictionaries.
Operation = dict[str, Any]
OperationPage = dict[str, Any]
Destination = dict[str, Any]
ConnectSession = dict[str, Any]
