"""Request bodies of the management API, as pydantic models (they also give the OpenAPI schema).

Field names are the contract's camelCase JSON names. Unknown fields are ignored, so clients written
for the hosted service keep working. Each model turns itself into the plain values the services
take (``to_...``); the rules (which credential a provider takes, what a name may be) live in the
services, not here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field, model_validator

from passway.api.input_guard import bad_text_error, find_bad_text
from passway.records import Credentials, OAuthToken
from passway.services.connections import NewConnection


class RequestBody(BaseModel):
    """Base of every request body: text that no store can keep (NUL, unpaired surrogates) is a
    400 naming the field, before any field is read (see ``passway.api.input_guard``)."""

    @model_validator(mode="before")
    @classmethod
    def _storable_text(cls, data: Any) -> Any:
        where = find_bad_text(data)
        if where is not None:
            # Not a ValueError: pydantic lets it through, so the issue keeps the field's path.
            raise bad_text_error("body", where)
        return data


class ProjectCreate(RequestBody):
    name: str = Field(description="2-128 letters, digits and inner '-'; stored lower-case")
    appName: str | None = None


class ApiKeyCreate(RequestBody):
    label: str
    scopes: list[str] = []


class ApiKeyPatch(RequestBody):
    label: str | None = None
    scopes: list[str] | None = None
    active: bool | None = None


class IntegrationsBatch(RequestBody):
    sourceYaml: str = Field(description="The amp.yaml file's text")


class TokenIn(BaseModel):
    token: str
    issuedAt: datetime | None = None
    expiresAt: datetime | None = None

    def to_token(self) -> OAuthToken:
        return OAuthToken(self.token, _utc(self.issuedAt), _utc(self.expiresAt))


class BasicAuthIn(BaseModel):
    username: str
    password: str


class ClientCredentialsIn(BaseModel):
    clientId: str
    clientSecret: str
    scopes: list[str] = []


class PasswordCredentialsIn(BaseModel):
    username: str
    password: str
    clientId: str
    clientSecret: str
    scopes: list[str] = []


class AuthorizationCodeIn(BaseModel):
    accessToken: TokenIn
    refreshToken: TokenIn | None = None
    scopes: list[str] = []


class MetadataIn(BaseModel):
    value: str


class CredentialFields(RequestBody):
    """The credential fields a connection may carry; exactly one is expected."""

    apiKey: str | None = None
    basicAuth: BasicAuthIn | None = None
    oauth2ClientCredentials: ClientCredentialsIn | None = None
    oauth2PasswordCredentials: PasswordCredentialsIn | None = None
    oauth2AuthorizationCode: AuthorizationCodeIn | None = None
    customAuth: dict[str, str] | None = None

    def to_credentials(self) -> dict[str, Credentials]:
        given: dict[str, Credentials] = {}
        if self.apiKey is not None:
            given["apiKey"] = Credentials(api_key=self.apiKey)
        if (basic := self.basicAuth) is not None:
            given["basicAuth"] = Credentials(username=basic.username, password=basic.password)
        if (cc := self.oauth2ClientCredentials) is not None:
            given["oauth2ClientCredentials"] = Credentials(
                client_id=cc.clientId, client_secret=cc.clientSecret, scopes=tuple(cc.scopes)
            )
        if (pw := self.oauth2PasswordCredentials) is not None:
            given["oauth2PasswordCredentials"] = Credentials(
                username=pw.username,
                password=pw.password,
                client_id=pw.clientId,
                client_secret=pw.clientSecret,
                scopes=tuple(pw.scopes),
            )
        if (code := self.oauth2AuthorizationCode) is not None:
            given["oauth2AuthorizationCode"] = Credentials(
                access_token=code.accessToken.to_token(),
                refresh_token=code.refreshToken.to_token() if code.refreshToken else None,
                scopes=tuple(code.scopes),
            )
        if self.customAuth is not None:
            given["customAuth"] = Credentials(custom=dict(self.customAuth))
        return given


class ConnectionGenerate(CredentialFields):
    groupRef: str
    consumerRef: str
    provider: str
    groupName: str | None = None
    consumerName: str | None = None
    providerWorkspaceRef: str | None = None
    providerMetadata: dict[str, str | MetadataIn] = {}

    def to_new_connection(self) -> NewConnection:
        return NewConnection(
            provider=self.provider,
            group_ref=self.groupRef,
            consumer_ref=self.consumerRef,
            credentials=self.to_credentials(),
            group_name=self.groupName,
            consumer_name=self.consumerName,
            provider_workspace_ref=self.providerWorkspaceRef,
            provider_metadata=metadata_values(self.providerMetadata),
        )


class ConnectionChanges(CredentialFields):
    providerWorkspaceRef: str | None = None
    providerMetadata: dict[str, str | MetadataIn] | None = None


class ConnectionPatch(RequestBody):
    updateMask: list[str]
    connection: ConnectionChanges = ConnectionChanges()


class InstallationCreate(RequestBody):
    groupRef: str
    groupName: str | None = None
    connectionId: str | None = None
    config: dict[str, Any] = Field(
        default_factory=dict, description="``content.proxy.enabled`` is what Passway reads"
    )


class InstallationChanges(BaseModel):
    connectionId: str | None = None
    config: dict[str, Any] | None = None


class InstallationPatch(RequestBody):
    updateMask: list[str]
    installation: InstallationChanges = InstallationChanges()


def metadata_values(raw: dict[str, str | MetadataIn] | None) -> dict[str, str]:
    """Metadata comes as ``{"name": "v"}`` or in the output shape ``{"name": {"value": "v"}}``."""
    return {
        name: value.value if isinstance(value, MetadataIn) else value
        for name, value in (raw or {}).items()
    }


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
