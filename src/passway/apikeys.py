"""Project API keys: generated once, shown once, stored only as a SHA-256 hash plus a lookup prefix.

A key looks like ``pw_<12 lookup chars>_<40 secret chars>``. The keys carry far more entropy than a
password, so a fast unsalted hash is the right tool (a slow KDF would only slow every call).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from collections.abc import Iterable

from passway.records import ApiKey

_ALPHABET = string.ascii_letters + string.digits
_PREFIX_LEN = 12
_SECRET_LEN = 40
_MARK = "pw_"


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def hash_api_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


def generate_api_key() -> tuple[str, str, str]:
    """A new key as ``(raw_key, lookup_prefix, key_hash)``; show the raw key once."""
    prefix = _random(_PREFIX_LEN)
    raw = f"{_MARK}{prefix}_{_random(_SECRET_LEN)}"
    return raw, prefix, hash_api_key(raw)


def lookup_prefix(raw_key: str) -> str | None:
    """The lookup prefix of a well-formed key, or None for anything that cannot be a Passway key."""
    if len(raw_key) != len(_MARK) + _PREFIX_LEN + 1 + _SECRET_LEN or not raw_key.startswith(_MARK):
        return None
    prefix, sep, secret = raw_key[len(_MARK) :].partition("_")
    if not sep or len(prefix) != _PREFIX_LEN or len(secret) != _SECRET_LEN:
        return None
    return prefix


def key_matches(raw_key: str, key_hash: str) -> bool:
    return hmac.compare_digest(hash_api_key(raw_key), key_hash)


def active_key_for(raw_key: str, candidates: Iterable[ApiKey]) -> ApiKey | None:
    """The active key among ``candidates`` (the stored keys sharing its lookup prefix) that
    ``raw_key`` is, or None. The one rule for every caller, management API and proxy alike: every
    candidate's hash is compared in constant time, whether the key is active or not, and the
    decision is made afterwards, so timing tells nothing about revoked keys."""
    found: ApiKey | None = None
    for key in candidates:
        if key_matches(raw_key, key.key_hash) and key.active and found is None:
            found = key
    return found


def masked(prefix: str) -> str:
    """How a stored key is shown after creation: its prefix only."""
    return f"{_MARK}{prefix}_…"
