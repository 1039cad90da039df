"""Schemathesis against a served Passway: whatever the OpenAPI document lets a client send (and,
in negative mode, what it forbids), no operation answers a 5xx, and every error is problem+json.

A small, fixed budget (a few examples per operation, derandomized) keeps this under a minute; the
long run is ``scripts/fuzz-api``. Skipped when schemathesis (a dev extra) is not installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402 - after the skip
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402

from support.databases import fresh_postgres_database, requires_postgres  # noqa: E402
from support.seed import amp_yaml  # noqa: E402
from support.server import ADMIN_KEY, free_port, make_settings, settings_env  # noqa: E402

PROJECT = "fuzz"
EXAMPLES = 10


@contextlib.contextmanager
def _postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this module (dropped afterwards); skips when unset."""
    loop = asyncio.new_event_loop()
    database = fresh_postgres_database()
    try:
        yield loop.run_until_complete(database.__aenter__())
    finally:
        loop.run_until_complete(database.__aexit__(None, None, None))
        loop.close()


@contextlib.contextmanager
def _served(data_dir: Path, database_url: str) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASSWAY_")}
    env.update(settings_env(make_settings(data_dir, database_url=database_url)))
    env.update(PASSWAY_HOST="127.0.0.1", PASSWAY_PORT=str(port), PASSWAY_LOG_LEVEL="critical")
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    command = [sys.executable, "-m", "passway", "serve"]
    process = subprocess.Popen(command, env=env, start_new_session=True, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("Passway did not start") from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """A served Passway (SQLite, or PostgreSQL whose text refuses NUL) with project ``fuzz``, its
    API key and one deployed integration."""
    with contextlib.ExitStack() as stack:
        database_url = ""
        if request.param == "postgres":
            requires_postgres()
            database_url = stack.enter_context(_postgres_database())
        base = stack.enter_context(_served(tmp_path_factory.mktemp("fuzz"), database_url))
        client = stack.enter_context(httpx.Client(base_url=base))
        admin = {"X-Api-Key": ADMIN_KEY}
        client.post("/v1/projects", json={"name": PROJECT}, headers=admin).raise_for_status()
        created = client.post(
            f"/v1/projects/{PROJECT}/api-keys", json={"label": "fuzz"}, headers=admin
        )
        key = created.raise_for_status().json()["key"]
        client.put(
            f"/v1/projects/{PROJECT}/integrations:batch",
            json={"sourceYaml": amp_yaml("fuzz-intercom", "intercom")},
            headers={"X-Api-Key": key},
        ).raise_for_status()
        yield base, key


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_no_operation_answers_a_server_error(served: tuple[str, str], mode: str) -> None:
    """Every operation, ``EXAMPLES`` derandomized cases each (valid input, or input the document
    forbids), called with the project's key and the project in the path."""
    base, key = served
    schema = schemathesis.openapi.from_url(f"{base}/v1/openapi.json")
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20

    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=GenerationMode(mode)))
        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def call(case: Any) -> None:
            if "projectIdOrName" in (case.path_parameters or {}):
                case.path_parameters["projectIdOrName"] = PROJECT
            response = case.call(headers={"X-Api-Key": key}, timeout=30)
            problem = response.headers.get("content-type", [""])[0] == "application/problem+json"
            if response.status_code >= 500 or (response.status_code >= 400 and not problem):
                failures.append(
                    f"{case.method} {case.formatted_path} -> {response.status_code} "
                    f"{response.text[:200]}"
                )

        # An operation with nothing to break (no parameters, no body) has no negative cases.
        with contextlib.suppress(Unsatisfiable):
            call()
    assert not failures, "\n".join(failures[:20])
