"""Records with secrets to SQL rows and back, sealing each secret on the way in (the other fields
map by name, ``passway.store.codec``).

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
    OAuthState,
    OAuthToken,
    ProviderApp,
)
from passway.store.codec import Row, record_of, row_of
from passway.store.tables import connections, oauth_states, provider_apps


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
    sealed = keyring.encrypt_text(credentials_to_json(c.credentials), aad_credentials(c.id))
    return row_of(c, connections, credentials_enc=sealed)


def connection_from_row(r: Row, keyring: Keyring) -> Connection:
    opened = keyring.decrypt_text(r["credentials_enc"], aad_credentials(r["id"]))
    return record_of(Connection, r, credentials=credentials_from_json(opened))


def provider_app_row(a: ProviderApp, keyring: Keyring) -> dict[str, Any]:
    sealed = keyring.encrypt_text(a.client_secret, aad_client_secret(a.id))
    return row_of(a, provider_apps, client_secret_enc=sealed)


def provider_app_from_row(r: Row, keyring: Keyring) -> ProviderApp:
    opened = keyring.decrypt_text(r["client_secret_enc"], aad_client_secret(r["id"]))
    return record_of(ProviderApp, r, client_secret=opened)


def oauth_state_row(s: OAuthState, keyring: Keyring) -> dict[str, Any]:
    verifier = s.code_verifier
    sealed = None if verifier is None else keyring.encrypt_text(verifier, aad_code_verifier(s.id))
    return row_of(s, oauth_states, code_verifier_enc=sealed)


def oauth_state_from_row(r: Row, keyring: Keyring) -> OAuthState:
    sealed = r["code_verifier_enc"]
    verifier = None if sealed is None else keyring.decrypt_text(sealed, aad_code_verifier(r["id"]))
    return record_of(OAuthState, r, code_verifier=verifier)
