"""No new encryption key beside sealed data.

When no key is configured and the key file is missing, Passway would generate a new key. Beside a
database that already holds sealed values that key could never open them, and the operator would
learn it only at the first call needing a credential. Start-up stops instead, naming the key ids
the database needs.
"""

from __future__ import annotations

import sqlalchemy as sa

from passway.errors import ConfigurationError
from passway.settings import Settings
from passway.store.engine import async_url, create_engine, sqlite_path
from passway.store.tables import connections, oauth_states, provider_apps

_SEALED_COLUMNS = (
    (connections, "credentials_enc"),
    (provider_apps, "client_secret_enc"),
    (oauth_states, "code_verifier_enc"),
)
_SAMPLE = 50  # sealed values read per column to name the keys in use


async def sealed_key_ids(url: str) -> set[str]:
    """Ids of the keys sealing values in the database at ``url`` (empty: nothing sealed yet, or
    no schema)."""
    parsed = async_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_path(parsed)
        if path is None or not path.exists() or path.stat().st_size == 0:
            return set()
    engine = create_engine(url)
    kids: set[str] = set()
    try:
        async with engine.connect() as conn:
            for table, name in _SEALED_COLUMNS:
                column = table.c[name]
                try:
                    rows = await conn.execute(
                        sa.select(column).where(column.is_not(None)).limit(_SAMPLE)
                    )
                except sa.exc.DBAPIError:
                    await conn.rollback()
                    continue  # no such table yet: a database Passway has not set up
                kids.update(
                    value.split(":")[1] for (value,) in rows if value and value.count(":") >= 2
                )
    finally:
        await engine.dispose()
    return kids


async def ensure_keys_for_sealed_data(settings: Settings) -> None:
    """Stop start-up rather than create a new key beside values sealed with another one."""
    if settings.encryption_keys or settings.resolved_key_file.exists():
        return
    kids = await sealed_key_ids(settings.resolved_database_url)
    if kids:
        raise ConfigurationError(
            f"The database holds credentials sealed with encryption key "
            f"{', '.join(repr(k) for k in sorted(kids))}, but the key file "
            f"{settings.resolved_key_file} does not exist and PASSWAY_ENCRYPTION_KEYS is not "
            "set. Restore the key file holding that key (or set PASSWAY_ENCRYPTION_KEYS); "
            "Passway does not create a new key beside sealed data."
        )
