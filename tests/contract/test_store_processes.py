"""Several OS processes on one database, as uvicorn workers are: migrations and leases stay safe.

Each child is a fresh Python interpreter that opens its own ``SqlStore``; the parent lines them up
(every child reports ``ready``, then all are told ``go`` at once) so they really race.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from passway.crypto import Keyring
from passway.store.migrate import HEAD, current_revision
from passway.store.sql import SqlStore
from support.records import T0, Records

SRC = str(Path(__file__).resolve().parents[2] / "src")
PROCESSES = 5

# argv: database url, lease owner. stdin: "<connection id> <now iso>" once everyone is ready.
CHILD = """
import asyncio, sys
from datetime import datetime
from passway.crypto import Keyring
from passway.store.sql import SqlStore

async def main(url, owner):
    store = await SqlStore.open(url, Keyring.generate())
    try:
        print("ready", flush=True)
        connection_id, now = (await asyncio.to_thread(sys.stdin.readline)).split()
        when = datetime.fromisoformat(now)
        won = await store.acquire_refresh_lease(connection_id, owner, when, 30)
        print("won" if won else "lost", flush=True)
    finally:
        await store.close()

asyncio.run(main(*sys.argv[1:3]))
"""


async def test_worker_processes_migrate_once_then_exactly_one_takes_the_lease(
    database_url: str, make: Records
):
    """Children open a never-migrated database together (all must succeed), then race for the
    refresh lease of one connection: exactly one wins."""
    env = {**os.environ, "PYTHONPATH": SRC}
    children = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            CHILD,
            database_url,
            f"owner-{n}",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        for n in range(PROCESSES)
    ]
    try:
        for child in children:
            assert child.stdout is not None
            assert await asyncio.wait_for(child.stdout.readline(), 60) == b"ready\n"

        store = await SqlStore.open(database_url, Keyring.generate())
        try:
            assert await current_revision(store.engine) == HEAD
            p = make.project()
            await store.create_project(p)
            conn = await store.create_connection(make.connection(p.id))
        finally:
            await store.close()

        go = f"{conn.id} {T0.isoformat()}\n".encode()
        for child in children:
            assert child.stdin is not None
            child.stdin.write(go)
            await child.stdin.drain()
        results = []
        for child in children:
            out, _ = await asyncio.wait_for(child.communicate(), 60)
            assert child.returncode == 0
            results.append(out.decode().strip())
        assert sorted(results) == ["lost"] * (PROCESSES - 1) + ["won"]
    finally:
        for child in children:
            if child.returncode is None:
                child.kill()
                await child.wait()
