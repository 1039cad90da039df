"""No secret ever reaches the SQLite files in clear: not the database, not its WAL, not its -shm.

Every kind of secret is stored through the real ``SqlStore``: API-key, basic, OAuth (client
secret, access and refresh tokens) and custom-auth connections, a provider app's client secret and
an OAuth state's PKCE code verifier. Then the raw bytes of every file are searched, while the store
is open (the WAL still holds the pages) and after it is closed.
"""

from __future__ import annotations

import dataclasses
import secrets
from pathlib import Path

from passway.crypto import Keyring
from passway.records import Credentials, OAuthToken
from passway.store.sql import SqlStore
from support.databases import sqlite_url
from support.records import T0, Records


def _secret(kind: str) -> str:
    return f"{kind}-{secrets.token_hex(16)}"


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.name.startswith("passway.db")}


async def test_no_secret_appears_in_the_sqlite_files(tmp_path: Path):
    make = Records()
    store = await SqlStore.open(sqlite_url(tmp_path), Keyring.generate())
    p = make.project()
    await store.create_project(p)

    api_key, password, client_secret = _secret("apikey"), _secret("password"), _secret("client")
    access, refresh = _secret("access"), _secret("refresh")
    custom, app_secret, verifier = _secret("custom"), _secret("appsecret"), _secret("verifier")
    credentials = [
        Credentials(api_key=api_key),
        Credentials(username="alice", password=password),
        Credentials(
            client_id="cid",
            client_secret=client_secret,
            access_token=OAuthToken(access, T0, T0),
            refresh_token=OAuthToken(refresh),
        ),
        Credentials(custom={"token": custom}),
    ]
    for creds in credentials:
        await store.create_connection(make.connection(p.id, credentials=creds))
    await store.create_provider_app(make.provider_app(p.id, client_secret=app_secret))
    await store.save_oauth_state(make.oauth_state(p.id, code_verifier=verifier))
    everything = [api_key, password, client_secret, access, refresh, custom, app_secret, verifier]

    # Updates write fresh ciphertexts; the old pages must not leak either.
    conn = (await store.list_connections(p.id))[0]
    rotated_token = _secret("rotated")
    await store.update_connection(
        dataclasses.replace(conn, credentials=Credentials(api_key=rotated_token)),
        expected_version=conn.version,
    )
    everything.append(rotated_token)

    open_files = _files(tmp_path)
    assert "passway.db-wal" in open_files
    # The search can see stored data: a non-secret column value is right there.
    assert any(conn.id.encode() in data for data in open_files.values())
    _assert_absent(open_files, everything)
    # The store really wrote them: they all come back decrypted.
    [app] = await store.list_provider_apps(p.id)
    assert app.client_secret == app_secret
    await store.close()

    closed_files = _files(tmp_path)
    assert any(conn.id.encode() in data for data in closed_files.values())
    _assert_absent(closed_files, everything)


def _assert_absent(files: dict[str, bytes], secrets_: list[str]) -> None:
    for name, data in files.items():
        for value in secrets_:
            assert value.encode() not in data, f"{value.split('-')[0]} found in clear in {name}"
