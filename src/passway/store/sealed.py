"""Records with secrets to SQL rows and back, sealing each secret on the way in.

Each sealed value is bound to its row and field (``aad_*``), so a ciphertext copied to another row
does not decrypt. A connection's ``Credentials`` are serialized to one JSON document (datetimes in
ISO 8601) and sealed as one value.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from passway.crypto import Keyring
from passway.records import (
    Connection,
    Credentials,
    MetadataValue,
    OAuthState,
    OAuthToken,
    ProviderApp,
)
from passway.store.codec import Row


def aad_credentials(connection_id: str) -> str:
    return f"connection:{connection_id}:credentials"


def aad_client_secret(app_id: str) -> str:
    return f"provider_app:{app_id}:client_secret"


def aad_code_verifier(state_id: str) -> str:
    return f"oauth_state:{state_id}:code_verifier"


# credentials ------------------------------------------------------------------------------------


def _token_to_json(token: OAuthToken | None) -> dict[str, Any] | None:
    if token is None:
        return None
    return {
        "token": token.token,
        "issued_at": _iso(token.issued_at),
        "expires_at": _iso(token.expires_at),
    }


def _token_from_json(doc: Any) -> OAuthToken | None:
    if doc is None:
        return None
    return OAuthToken(
        token=doc["token"],
        issued_at=_from_iso(doc.get("issued_at")),
        expires_at=_from_iso(doc.get("expires_at")),
    )


def credentials_to_json(credentials: Credentials) -> str:
    doc = {
        "api_key": credentials.api_key,
        "username": credentials.username,
        "password": credentials.password,
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret,
        "scopes": list(credentials.scopes),
        "access_token": _token_to_json(credentials.access_token),
        "refresh_token": _token_to_json(credentials.refresh_token),
        "custom": dict(credentials.custom),
    }
    return json.dumps({k: v for k, v in doc.items() if v not in (None, [], {})}, sort_keys=True)


def credentials_from_json(text: str) -> Credentials:
    doc = json.loads(text)
    return Credentials(
        api_key=doc.get("api_key"),
        username=doc.get("username"),
        password=doc.get("password"),
        client_id=doc.get("client_id"),
        client_secret=doc.get("client_secret"),
        scopes=tuple(doc.get("scopes", ())),
        access_token=_token_from_json(doc.get("access_token")),
        refresh_token=_token_from_json(doc.get("refresh_token")),
        custom=dict(doc.get("custom", {})),
    )


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _from_iso(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


# rows -------------------------------------------------------------------------------------------


def connection_row(c: Connection, keyring: Keyring) -> dict[str, Any]:
    """Every column of a connection except the lease, which only the lease methods write."""
    return {
        "id": c.id,
        "project_id": c.project_id,
        "provider": c.provider,
        "group_ref": c.group_ref,
        "group_name": c.group_name,
        "consumer_ref": c.consumer_ref,
        "consumer_name": c.consumer_name,
        "provider_workspace_ref": c.provider_workspace_ref,
        "provider_consumer_ref": c.provider_consumer_ref,
        "provider_metadata": {
            k: {"value": v.value, "source": v.source} for k, v in c.provider_metadata.items()
        },
        "auth_scheme": c.auth_scheme,
        "status": c.status,
        "credentials_enc": keyring.encrypt_text(
            credentials_to_json(c.credentials), aad_credentials(c.id)
        ),
        "provider_app_id": c.provider_app_id,
        "version": c.version,
        "create_time": c.create_time,
        "update_time": c.update_time,
    }


def connection_from_row(r: Row, keyring: Keyring) -> Connection:
    return Connection(
        id=r["id"],
        project_id=r["project_id"],
        provider=r["provider"],
        group_ref=r["group_ref"],
        group_name=r["group_name"],
        consumer_ref=r["consumer_ref"],
        consumer_name=r["consumer_name"],
        provider_workspace_ref=r["provider_workspace_ref"],
        provider_consumer_ref=r["provider_consumer_ref"],
        provider_metadata={
            k: MetadataValue(v["value"], v.get("source", "input"))
            for k, v in r["provider_metadata"].items()
        },
        auth_scheme=r["auth_scheme"],
        status=r["status"],
        credentials=credentials_from_json(
            keyring.decrypt_text(r["credentials_enc"], aad_credentials(r["id"]))
        ),
        provider_app_id=r["provider_app_id"],
        version=r["version"],
        create_time=r["create_time"],
        update_time=r["update_time"],
    )


def provider_app_row(a: ProviderApp, keyring: Keyring) -> dict[str, Any]:
    return {
        "id": a.id,
        "project_id": a.project_id,
        "provider": a.provider,
        "client_id": a.client_id,
        "client_secret_enc": keyring.encrypt_text(a.client_secret, aad_client_secret(a.id)),
        "scopes": list(a.scopes),
        "external_ref": a.external_ref,
        "create_time": a.create_time,
        "update_time": a.update_time,
    }


def provider_app_from_row(r: Row, keyring: Keyring) -> ProviderApp:
    return ProviderApp(
        id=r["id"],
        project_id=r["project_id"],
        provider=r["provider"],
        client_id=r["client_id"],
        client_secret=keyring.decrypt_text(r["client_secret_enc"], aad_client_secret(r["id"])),
        scopes=tuple(r["scopes"]),
        external_ref=r["external_ref"],
        create_time=r["create_time"],
        update_time=r["update_time"],
    )


def oauth_state_row(s: OAuthState, keyring: Keyring) -> dict[str, Any]:
    verifier = s.code_verifier
    return {
        "id": s.id,
        "project_id": s.project_id,
        "provider": s.provider,
        "group_ref": s.group_ref,
        "group_name": s.group_name,
        "consumer_ref": s.consumer_ref,
        "consumer_name": s.consumer_name,
        "provider_workspace_ref": s.provider_workspace_ref,
        "provider_metadata": dict(s.provider_metadata),
        "provider_app_id": s.provider_app_id,
        "code_verifier_enc": None
        if verifier is None
        else keyring.encrypt_text(verifier, aad_code_verifier(s.id)),
        "redirect_uri": s.redirect_uri,
        "redirect_after": s.redirect_after,
        "connection_id": s.connection_id,
        "expires_at": s.expires_at,
        "create_time": s.create_time,
    }


def oauth_state_from_row(r: Row, keyring: Keyring) -> OAuthState:
    sealed = r["code_verifier_enc"]
    return OAuthState(
        id=r["id"],
        project_id=r["project_id"],
        provider=r["provider"],
        group_ref=r["group_ref"],
        group_name=r["group_name"],
        consumer_ref=r["consumer_ref"],
        consumer_name=r["consumer_name"],
        provider_workspace_ref=r["provider_workspace_ref"],
        provider_metadata=r["provider_metadata"],
        provider_app_id=r["provider_app_id"],
        code_verifier=None
        if sealed is None
        else keyring.decrypt_text(sealed, aad_code_verifier(r["id"])),
        redirect_uri=r["redirect_uri"],
        redirect_after=r["redirect_after"],
        connection_id=r["connection_id"],
        expires_at=r["expires_at"],
        create_time=r["create_time"],
    )
