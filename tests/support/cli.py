"""Drive the real ``passway`` command line in tests: in-process through click's ``CliRunner`` on a
real SQLite data directory (``Cli``), or as a subprocess (``passway_command``), and a loopback OAuth
server on its own thread for commands that call a token endpoint (the CLI runs its own loops)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from passway.cli import main
from support.oauth_server import OAuthServer

SRC = str(Path(__file__).resolve().parents[2] / "src")


class Cli:
    """``cli("projects", "create", "acme")`` runs ``passway --data-dir DIR projects create acme``
    in this process."""

    def __init__(self, data_dir: Path, env: Mapping[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.env = dict(env or {})
        self.runner = CliRunner()

    def __call__(
        self, *args: str, input: str | None = None, env: Mapping[str, str] | None = None
    ) -> Result:
        return self.runner.invoke(
            main,
            ["--data-dir", str(self.data_dir), *args],
            input=input,
            env={**self.env, **(env or {})},
        )

    def ok(self, *args: str, input: str | None = None) -> Result:
        result = self(*args, input=input)
        assert result.exit_code == 0, result.output
        return result

    def json(self, *args: str, input: str | None = None) -> Any:
        return json.loads(self.ok(*args, "--json", input=input).stdout)


def passway_command(*args: str) -> list[str]:
    """The argv of ``python -m passway ARGS`` (the same command as the ``passway`` script)."""
    return [sys.executable, "-m", "passway", *args]


def subprocess_env(**passway: str) -> dict[str, str]:
    """This environment without any ``PASSWAY_*`` variable, plus ``passway`` and the source path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASSWAY_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (SRC, env.get("PYTHONPATH")) if p)
    env.update(passway)
    return env


@contextlib.contextmanager
def threaded_oauth_server() -> Iterator[OAuthServer]:
    """The loopback ``OAuthServer`` on its own event loop in a thread."""
    loop = asyncio.new_event_loop()
    server = OAuthServer()
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        started.set()
        loop.run_forever()
        loop.run_until_complete(server.close())
        loop.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(15), "the OAuth server did not start"
    try:
        yield server
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(15)
