"""The SQLite database's files: private to their owner.

The database is created 0600 (in a directory created 0700) before SQLite opens it, and SQLite
gives its ``-wal`` and ``-shm`` files the database file's mode. Files an earlier version left
readable by others are narrowed to 0600.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path


def prepare_sqlite_file(path: Path) -> None:
    """The database file's directory (0700 when created here) and the file itself (0600)."""
    directory = path.parent
    if not directory.exists():
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    narrow_to_owner(directory, 0o700)
    for name in (path.name, path.name + "-wal", path.name + "-shm"):
        narrow_to_owner(directory / name, 0o600)


def narrow_to_owner(path: Path, mode: int) -> None:
    """``chmod`` a file of ours that others may read or write down to ``mode``."""
    try:
        current = path.stat()
    except FileNotFoundError:
        return
    if stat.S_IMODE(current.st_mode) & 0o077 and current.st_uid == os.geteuid():
        os.chmod(path, mode)
