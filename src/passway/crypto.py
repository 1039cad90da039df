"""Encryption at rest: AES-256-GCM with named keys, so keys can be rotated without downtime.

A sealed value reads ``pw1:<key id>:<base64url(nonce || ciphertext+tag)>``. The key id picks the
key, so old values stay readable after a rotation until they are rewrapped under the newest
(primary) key. Each value is bound by GCM's associated data to the row and field it belongs to
(for example ``b"connection:<id>:credentials"``): a ciphertext copied into another row fails to
decrypt instead of silently handing one customer's credentials to another.

Keys come either from ``PASSWAY_ENCRYPTION_KEYS`` (``kid:base64(32 bytes)``, newest last) or from a
JSON key file that is generated on first start. Neither error messages nor logs ever contain key
material or plaintext.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import json
import logging
import os
import re
import secrets
import stat
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from passway.errors import ConfigurationError

if TYPE_CHECKING:
    from passway.settings import Settings

logger = logging.getLogger(__name__)

SEAL_FORMAT = "pw1"
KEY_BYTES = 32
NONCE_BYTES = 12
_KID_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_FILE_FORMAT = 1


class Keyring:
    """An ordered set of AES-256 keys; the last one (primary) seals, any of them opens."""

    def __init__(self, keys: Sequence[tuple[str, bytes]], *, source: Path | None = None) -> None:
        self._source = source
        self._keys, self._primary = _build(keys)

    # construction -------------------------------------------------------------------------------
    @classmethod
    def generate(cls) -> Keyring:
        """A keyring with one fresh random key (tests, throw-away stores)."""
        return cls([new_key()])

    @classmethod
    def from_entries(cls, entries: Sequence[str]) -> Keyring:
        """Parse ``kid:base64(32 bytes)`` entries (``PASSWAY_ENCRYPTION_KEYS``), newest last."""
        keys = []
        for entry in entries:
            kid, sep, encoded = entry.strip().partition(":")
            if not sep:
                raise ConfigurationError(
                    "PASSWAY_ENCRYPTION_KEYS: each entry must read <key id>:<base64 of 32 bytes>"
                )
            keys.append((kid, _decode_key(kid, encoded)))
        return cls(keys)

    @classmethod
    def load_or_create(cls, settings: Settings) -> Keyring:
        """Keys from the settings if given, else from the key file (created on first start)."""
        if settings.encryption_keys:
            return cls.from_entries(settings.encryption_keys)
        path = settings.resolved_key_file
        if not path.exists():
            _create_key_file(path)
        return cls.from_file(path)

    @classmethod
    def from_file(cls, path: Path) -> Keyring:
        """Keys from a key file. A value sealed with a key id this keyring does not know makes it
        read the file again, so running workers pick up a ``passway keys rotate`` by themselves."""
        return cls(read_key_file(path), source=path)

    # use ----------------------------------------------------------------------------------------
    @property
    def primary_key_id(self) -> str:
        return self._primary

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def encrypt(self, plaintext: bytes, aad: bytes) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[self._primary].encrypt(nonce, plaintext, aad)
        body = base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")
        return f"{SEAL_FORMAT}:{self._primary}:{body}"

    def decrypt(self, token: str, aad: bytes) -> bytes:
        kid, blob = _split_token(token)
        key = self._keys.get(kid)
        if key is None and self._source is not None:
            self._keys, self._primary = _build(read_key_file(self._source))
            key = self._keys.get(kid)
        if key is None:
            raise ConfigurationError(
                f"a stored value is sealed with encryption key {kid!r}, which is not configured; "
                "restore that key (key file or PASSWAY_ENCRYPTION_KEYS)"
            )
        try:
            return key.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
        except InvalidTag:
            raise ConfigurationError(
                f"a stored value failed authentication under key {kid!r} "
                "(tampered with, or moved to another row)"
            ) from None

    def encrypt_text(self, plaintext: str, aad: str) -> str:
        return self.encrypt(plaintext.encode("utf-8"), aad.encode("utf-8"))

    def decrypt_text(self, token: str, aad: str) -> str:
        return self.decrypt(token, aad.encode("utf-8")).decode("utf-8")

    def needs_rewrap(self, token: str) -> bool:
        """True when ``token`` is sealed with a key other than the primary one."""
        kid, _ = _split_token(token)
        return kid != self._primary


def new_key() -> tuple[str, bytes]:
    """A fresh ``(key id, 32 random bytes)``. Ids sort by creation date for humans."""
    kid = f"k{datetime.now(UTC):%Y%m%d}{secrets.token_hex(3)}"
    return kid, secrets.token_bytes(KEY_BYTES)


def encode_key_entry(kid: str, key: bytes) -> str:
    """The ``kid:base64`` form accepted by ``PASSWAY_ENCRYPTION_KEYS``."""
    return f"{kid}:{base64.b64encode(key).decode('ascii')}"


def rotate_key_file(path: Path) -> str:
    """Append a new primary key to the key file (old keys stay for decryption); return its id."""
    with _file_lock(path):
        keys = read_key_file(path)
        kid, key = new_key()
        while kid in {k for k, _ in keys}:
            kid, key = new_key()
        keys.append((kid, key))
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        _write_new_file(tmp, _serialize(keys))
        os.replace(tmp, path)
    logger.warning("Added encryption key %s to %s; back up this file.", kid, path)
    return kid


# internals ----------------------------------------------------------------------------------------


def _build(keys: Sequence[tuple[str, bytes]]) -> tuple[dict[str, AESGCM], str]:
    if not keys:
        raise ConfigurationError("the keyring needs at least one encryption key")
    built: dict[str, AESGCM] = {}
    for kid, key in keys:
        _check_key(kid, key)
        if kid in built:
            raise ConfigurationError(f"encryption key id {kid!r} appears twice")
        built[kid] = AESGCM(key)
    return built, keys[-1][0]


def _check_key(kid: str, key: bytes) -> None:
    if not _KID_RE.match(kid):
        raise ConfigurationError(
            f"encryption key id {kid!r} is invalid: use 1-64 letters, digits, '_', '-' or '.'"
        )
    if len(key) != KEY_BYTES:
        raise ConfigurationError(
            f"encryption key {kid!r} must be {KEY_BYTES} bytes, not {len(key)}"
        )


def _decode_key(kid: str, encoded: str) -> bytes:
    text = encoded.strip()
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError(f"encryption key {kid!r} is not valid base64") from None


def _split_token(token: str) -> tuple[str, bytes]:
    version, _, rest = token.partition(":")
    kid, _, body = rest.partition(":")
    if version != SEAL_FORMAT or not kid or not body:
        raise ConfigurationError("a stored encrypted value is malformed")
    try:
        blob = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise ConfigurationError("a stored encrypted value is malformed") from None
    if len(blob) < NONCE_BYTES + 16:
        raise ConfigurationError("a stored encrypted value is malformed")
    return kid, blob


def _serialize(keys: Sequence[tuple[str, bytes]]) -> bytes:
    doc = {
        "format": _FILE_FORMAT,
        "note": "Passway encryption keys, newest last. Back this file up; losing it loses every "
        "stored credential.",
        "keys": [{"id": kid, "key": base64.b64encode(key).decode("ascii")} for kid, key in keys],
    }
    return (json.dumps(doc, indent=2) + "\n").encode("utf-8")


def read_key_file(path: Path) -> list[tuple[str, bytes]]:
    """The ``(key id, key)`` pairs of a key file, oldest first. Refuses a file that group or
    others may access: it holds every stored credential's key."""
    try:
        mode = path.stat().st_mode
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read encryption key file {path}: {exc.strerror}"
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(
            f"encryption key file {path} is accessible by group or others; run: chmod 600 {path}"
        )
    try:
        doc: Any = json.loads(raw)
        entries = doc["keys"]
        keys = [(str(e["id"]), _decode_key(str(e["id"]), str(e["key"]))) for e in entries]
    except (ValueError, KeyError, TypeError):
        raise ConfigurationError(f"encryption key file {path} is malformed") from None
    if not keys:
        raise ConfigurationError(f"encryption key file {path} holds no keys")
    for kid, key in keys:
        _check_key(kid, key)
    return keys


def _write_new_file(path: Path, content: bytes) -> None:
    """Write ``content`` to a file that must not exist yet, readable by the owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, content)
        os.fsync(fd)
    finally:
        os.close(fd)


def _create_key_file(path: Path) -> None:
    """Create the key file once, even when several workers start together.

    The key is written to a private temporary file, then hard-linked into place: the link either
    succeeds (we won) or fails with ``FileExistsError`` (another worker won and we read theirs), and
    nobody ever sees a half-written file.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    _write_new_file(tmp, _serialize([new_key()]))
    try:
        os.link(tmp, path)
    except FileExistsError:
        return
    finally:
        tmp.unlink(missing_ok=True)
    logger.warning(
        "Generated a new encryption key file at %s. Back it up: without it the stored "
        "credentials cannot be decrypted.",
        path.resolve(),
    )


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    lock_path = path.with_name(path.name + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
