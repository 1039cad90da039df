"""Key maintenance behind ``passway keys rotate`` and ``passway keys rewrap``."""

from __future__ import annotations

from passway.crypto import Keyring, rotate_key_file
from passway.errors import ConfigurationError
from passway.settings import Settings
from passway.store.sql import SqlStore


async def rewrap(settings: Settings) -> int:
    """Re-seal every stored secret under the primary (newest) key; returns how many changed."""
    keyring = Keyring.load_or_create(settings)
    store = await SqlStore.open(settings.resolved_database_url, keyring)
    try:
        return await store.reencrypt_all()
    finally:
        await store.close()


async def rotate_keys(settings: Settings) -> tuple[str, int]:
    """Add a new primary key to the key file, then rewrap; returns (new key id, values rewrapped).

    Running workers read the key file again when they meet a value sealed with a key id they do
    not know, so rotation needs no restart.
    """
    if settings.encryption_keys:
        raise ConfigurationError(
            "keys come from PASSWAY_ENCRYPTION_KEYS, so there is no key file to rotate: append a "
            "new <key id>:<base64 of 32 random bytes> entry at the end of the variable (keep the "
            "old entries), restart Passway, then run `passway keys rewrap`"
        )
    path = settings.resolved_key_file
    if not path.exists():
        Keyring.load_or_create(settings)
    new_kid = rotate_key_file(path)
    return new_kid, await rewrap(settings)
