"""The keyring: sealing, binding to a row, tamper detection, key files, rotation, env keys."""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from passway.crypto import (
    Keyring,
    encode_key_entry,
    new_key,
    read_key_file,
    rotate_key_file,
)
from passway.errors import ConfigurationError
from passway.settings import Settings

AAD = b"connection:c1:credentials"


def test_round_trip_and_fresh_nonce_per_value():
    ring = Keyring.generate()
    first = ring.encrypt(b"s3cret", AAD)
    second = ring.encrypt(b"s3cret", AAD)
    assert first != second
    assert ring.decrypt(first, AAD) == b"s3cret"
    assert ring.decrypt(second, AAD) == b"s3cret"
    assert first.startswith(f"pw1:{ring.primary_key_id}:")
    assert "s3cret" not in first


def test_value_is_bound_to_its_row_and_field():
    ring = Keyring.generate()
    sealed = ring.encrypt(b"s3cret", AAD)
    with pytest.raises(ConfigurationError, match="another row"):
        ring.decrypt(sealed, b"connection:c2:credentials")


def test_tampered_value_is_refused_without_revealing_anything():
    ring = Keyring.generate()
    sealed = ring.encrypt(b"s3cret", AAD)
    prefix, kid, body = sealed.split(":")
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[-1] ^= 1
    tampered = f"{prefix}:{kid}:{base64.urlsafe_b64encode(bytes(raw)).decode().rstrip('=')}"
    with pytest.raises(ConfigurationError) as caught:
        ring.decrypt(tampered, AAD)
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize("token", ["", "pw1:k1", "pw2:k1:AAAA", "pw1:k1:!!!!", "pw1:k1:AAAA"])
def test_malformed_values_are_refused(token: str):
    with pytest.raises(ConfigurationError, match="malformed"):
        Keyring.generate().decrypt(token, AAD)


def test_unknown_key_id_names_the_key_only():
    sealed = Keyring.generate().encrypt(b"s3cret", AAD)
    other = Keyring.generate()
    with pytest.raises(ConfigurationError, match="not configured"):
        other.decrypt(sealed, AAD)


def test_rotation_keeps_old_values_readable_and_seals_with_the_new_key():
    old, new = new_key(), new_key()
    before = Keyring([old])
    sealed = before.encrypt(b"s3cret", AAD)
    after = Keyring([old, new])
    assert after.primary_key_id == new[0]
    assert after.decrypt(sealed, AAD) == b"s3cret"
    assert after.needs_rewrap(sealed) is True
    assert after.needs_rewrap(after.encrypt(b"x", AAD)) is False


def test_env_keys_are_parsed_newest_last():
    first, second = new_key(), new_key()
    ring = Keyring.load_or_create(
        Settings(encryption_keys=(encode_key_entry(*first), encode_key_entry(*second)))
    )
    assert ring.key_ids == (first[0], second[0])
    assert ring.primary_key_id == second[0]


@pytest.mark.parametrize(
    "entry",
    [
        "no-separator",
        "k1:" + base64.b64encode(b"short").decode(),
        "k1:not base64!",
        "bad id:" + base64.b64encode(os.urandom(32)).decode(),
    ],
)
def test_malformed_env_keys_are_refused(entry: str):
    with pytest.raises(ConfigurationError):
        Keyring.from_entries([entry])


def test_duplicate_key_ids_are_refused():
    kid, key = new_key()
    with pytest.raises(ConfigurationError, match="twice"):
        Keyring([(kid, key), (kid, os.urandom(32))])


def test_key_file_is_created_owner_only_and_reused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    settings = Settings(data_dir=tmp_path / "data")
    with caplog.at_level(logging.WARNING, logger="passway.crypto"):
        ring = Keyring.load_or_create(settings)
    path = settings.resolved_key_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert str(path.resolve()) in caplog.text
    key_b64 = json.loads(path.read_text())["keys"][0]["key"]
    assert key_b64 not in caplog.text

    sealed = ring.encrypt(b"s3cret", AAD)
    assert Keyring.load_or_create(settings).decrypt(sealed, AAD) == b"s3cret"


def test_workers_creating_the_key_file_at_once_agree_on_one_key(tmp_path: Path):
    settings = Settings(data_dir=tmp_path)
    with ThreadPoolExecutor(max_workers=8) as pool:
        rings = list(pool.map(lambda _: Keyring.load_or_create(settings), range(8)))
    assert len({r.primary_key_id for r in rings}) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["encryption.keys"]


def test_key_file_readable_by_others_is_refused(tmp_path: Path):
    settings = Settings(data_dir=tmp_path)
    Keyring.load_or_create(settings)
    settings.resolved_key_file.chmod(0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        Keyring.load_or_create(settings)


@pytest.mark.parametrize("content", ["not json", '{"keys": []}', '{"keys": [{"id": "k1"}]}'])
def test_malformed_key_file_is_refused(tmp_path: Path, content: str):
    path = tmp_path / "keys.json"
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(ConfigurationError):
        Keyring.load_or_create(Settings(data_dir=tmp_path, key_file=path))


def test_rotate_key_file_appends_a_primary_key(tmp_path: Path):
    settings = Settings(data_dir=tmp_path)
    old = Keyring.load_or_create(settings)
    sealed = old.encrypt(b"s3cret", AAD)
    kid = rotate_key_file(settings.resolved_key_file)
    assert stat.S_IMODE(settings.resolved_key_file.stat().st_mode) == 0o600
    assert [k for k, _ in read_key_file(settings.resolved_key_file)] == [old.primary_key_id, kid]
    rotated = Keyring.load_or_create(settings)
    assert rotated.primary_key_id == kid
    assert rotated.decrypt(sealed, AAD) == b"s3cret"


def test_keyring_from_file_picks_up_a_rotation_by_itself(tmp_path: Path):
    settings = Settings(data_dir=tmp_path)
    running = Keyring.load_or_create(settings)
    rotate_key_file(settings.resolved_key_file)
    newer = Keyring.load_or_create(settings)
    sealed = newer.encrypt(b"s3cret", AAD)
    assert running.decrypt(sealed, AAD) == b"s3cret"
    assert running.primary_key_id == newer.primary_key_id
