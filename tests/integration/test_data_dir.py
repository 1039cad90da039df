"""The data directory: found the same from any working directory, private to its owner, and never
given a new encryption key beside a database that holds sealed data. Passway is run as operators
run it, ``python -m passway ...`` in a subprocess, with ``HOME`` pointing into the test's folder."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from passway.crypto import Keyring
from support.server import free_port

SRC = str(Path(__file__).resolve().parents[2] / "src")


def passway(
    home: Path, cwd: Path, *args: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PASSWAY_", "XDG_"))}
    env.update(HOME=str(home), PYTHONPATH=SRC, PASSWAY_LOG_LEVEL="warning")
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "passway", *args],
        cwd=cwd,
        env=env,
        input=input,
        capture_output=True,
        text=True,
        timeout=60,
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_cli_finds_the_same_data_from_any_working_directory(tmp_path: Path) -> None:
    home = tmp_path / "home"
    created = passway(home, tmp_path / "one", "projects", "create", "acme", "--app-name", "A")
    assert created.returncode == 0, created.stderr
    listed = passway(home, tmp_path / "two" / "deeper", "projects", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [p["name"] for p in json.loads(listed.stdout)] == ["acme"]
    data = home / ".local" / "share" / "passway"
    assert (data / "passway.db").exists()
    assert not (tmp_path / "one" / "passway-data").exists()
    # Private: the directory 0700, the database, its WAL files and the key file 0600.
    assert mode(data) == 0o700
    for name in ("passway.db", "passway.db-wal", "passway.db-shm", "encryption.keys"):
        if (data / name).exists():
            assert mode(data / name) == 0o600, name


def test_an_existing_database_file_readable_by_others_is_narrowed(tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert passway(home, tmp_path, "projects", "create", "acme", "--app-name", "A").returncode == 0
    db = home / ".local" / "share" / "passway" / "passway.db"
    db.chmod(0o644)
    assert passway(home, tmp_path, "projects", "list").returncode == 0
    assert mode(db) == 0o600


def test_no_new_key_is_created_beside_sealed_data(tmp_path: Path) -> None:
    """With the key file gone, the CLI and the server stop, naming the key the database needs,
    and no new key file appears."""
    home = tmp_path / "home"
    data = home / ".local" / "share" / "passway"
    assert passway(home, tmp_path, "projects", "create", "acme", "--app-name", "A").returncode == 0
    imported = passway(
        home, tmp_path, "connections", "import", "--project", "acme", "--provider", "intercom",
        "--group-ref", "g1", "--consumer-ref", "c1", "--access-token", "-",
        input="sealed-token\n",
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    key_file = data / "encryption.keys"
    [kid] = Keyring.from_file(key_file).key_ids
    key_file.rename(tmp_path / "moved.keys")

    listed = passway(home, tmp_path, "projects", "list")
    assert listed.returncode == 2
    assert repr(kid) in listed.stderr and str(key_file) in listed.stderr
    assert not key_file.exists()

    served = passway(home, tmp_path, "serve", "--port", str(free_port()))
    assert served.returncode != 0
    assert repr(kid) in served.stderr
    assert not key_file.exists()
