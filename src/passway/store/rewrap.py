"""Rewrapping: re-seal every secret that is not under the keyring's primary key.

Runs inside one write transaction of ``SqlStore.reencrypt_all``. Each row is updated only if its
sealed value is still the one read (compare-and-swap), so a concurrent writer's newer value is never
overwritten with an old plaintext. Plaintexts do not change, so no change rows are written.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from passway.crypto import Keyring
from passway.store import sealed
from passway.store.notification_tables import destinations
from passway.store.sql.base import Tx
from passway.store.sql.outbox import aad_destination_secret
from passway.store.tables import connections, oauth_states, provider_apps

_SEALED: tuple[tuple[sa.Table, str, Callable[[str], str]], ...] = (
    (connections, "credentials_enc", sealed.aad_credentials),
    (provider_apps, "client_secret_enc", sealed.aad_client_secret),
    (oauth_states, "code_verifier_enc", sealed.aad_code_verifier),
    (destinations, "secret_enc", aad_destination_secret),
)


async def rewrap_all(tx: Tx, keyring: Keyring) -> int:
    count = 0
    for table, column_name, aad_of in _SEALED:
        column = table.c[column_name]
        rows = await tx.all(sa.select(table.c.id, column).where(column.is_not(None)))
        for row in rows:
            old = row[column_name]
            if not keyring.needs_rewrap(old):
                continue
            aad = aad_of(row["id"]).encode("utf-8")
            new = keyring.encrypt(keyring.decrypt(old, aad), aad)
            stmt = (
                table.update()
                .where(table.c.id == row["id"], column == old)
                .values({column_name: new})
            )
            count += await tx.rowcount(stmt)
    return count
