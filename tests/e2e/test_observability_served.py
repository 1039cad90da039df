"""``passway serve`` as operators run it, with two workers: one ``/metrics`` scrape adds up both
workers, JSON logs carry each call's request id (and never a query value), operations are
written by both workers and read back by the API and the CLI (``list``, ``--follow``, ``show``).
Run on SQLite, and on PostgreSQL when ``PASSWAY_TEST_POSTGRES_URL`` is set."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from passway.cli import main
from support import catalog as tc
from support.databases import SQL_BACKENDS, database_for
from support.seed import seed_proxy_setup
from support.server import ADMIN_KEY, make_settings, run_passway_process, settings_env
from support.upstream import RecordingUpstream

SRC = str(Path(__file__).resolve().parents[2] / "src")
CALLS = 12


def metric_total(text: str, name: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


@contextlib.asynccontextmanager
async def follower(env: dict[str, str], *args: str) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "passway", *args, env=env, stdout=asyncio.subprocess.PIPE
    )
    try:
        yield process
    finally:
        process.terminate()
        await process.wait()


@pytest.mark.parametrize("backend", SQL_BACKENDS)
async def test_two_workers_one_scrape_json_logs_and_the_cli(tmp_path: Path, backend: str) -> None:
    log_file = tmp_path / "passway.log"
    async with (
        database_for(backend, tmp_path) as url,
        RecordingUpstream() as upstream,
    ):
        catalog_file = tc.write_test_catalog(tmp_path / "catalog.json", upstream.url)
        database_url = "" if backend == "sqlite" else url
        settings = make_settings(
            tmp_path,
            catalog_file=catalog_file,
            database_url=database_url,
            log_format="json",
            access_log=True,
        )
        env = settings_env(settings)
        async with (
            run_passway_process(
                env, workers=2, via_cli=True, output=log_file, startup_timeout=120
            ) as base,
            httpx.AsyncClient(base_url=base, timeout=20) as client,
        ):
            setup = await seed_proxy_setup(
                client, ADMIN_KEY, provider=tc.APIKEY_BEARER, credential={"apiKey": "k-123456"}
            )
            ids = []
            for n in range(CALLS):
                # A new connection each time: the kernel spreads them over both workers.
                async with httpx.AsyncClient(base_url=base, timeout=20) as one_shot:
                    answer = await one_shot.get(
                        f"/items/{n}?secret=q-{n}-VALUE", headers=setup.proxy_headers()
                    )
                assert answer.status_code == 200
                ids.append(answer.headers["x-passway-request-id"])
            callback = await client.get("/callbacks/v1/oauth?code=CODE-VALUE&state=STATE-VALUE")
            assert callback.status_code >= 400

            scraped = ""
            for _ in range(200):  # until both workers' writers have counted every call
                scraped = (await client.get("/metrics")).text
                if metric_total(scraped, "passway_proxy_calls_total") >= CALLS:
                    break
                await asyncio.sleep(0.05)
            assert metric_total(scraped, "passway_proxy_calls_total") == CALLS
            assert metric_total(scraped, "http_server_request_duration_seconds_count") == CALLS
            assert metric_total(scraped, "http_client_request_duration_seconds_count") == CALLS
            assert "passway_database_up" in scraped
            assert (await client.get("/readyz")).status_code == 200

            listed: dict[str, Any] = {}
            for _ in range(200):
                listed = (
                    await client.get(
                        f"/v1/projects/{setup.project_id}/operations",
                        params={"pageSize": 100},
                        headers={"x-api-key": ADMIN_KEY},
                    )
                ).json()
                if len(listed["operations"]) >= CALLS:
                    break
                await asyncio.sleep(0.05)
            assert [o["id"] for o in listed["operations"]] == sorted(ids, reverse=True)

            # The CLI reads the same database.
            env = {**env, "PASSWAY_PORT": "8080"}  # the tests' port 0 is no port for a command
            cli_env = {**os.environ, **env, "PYTHONPATH": SRC}
            cli_env.pop("PROMETHEUS_MULTIPROC_DIR", None)
            runner = CliRunner()
            shown = await asyncio.to_thread(
                runner.invoke,
                main,
                ["operations", "list", "-p", setup.project_name, "--json"],
                env=env,
            )
            assert shown.exit_code == 0, shown.output
            assert [o["id"] for o in json.loads(shown.output)["operations"]][:CALLS] == sorted(
                ids, reverse=True
            )
            one = await asyncio.to_thread(
                runner.invoke, main, ["operations", "show", ids[0], "-p", setup.project_id], env=env
            )
            assert one.exit_code == 0, one.output
            assert ids[0] in one.output and "/items/0" in one.output

            args = ("operations", "list", "-p", setup.project_id, "--json", "--follow")
            async with follower(cli_env, *args) as process:
                assert process.stdout is not None
                first = [json.loads(await process.stdout.readline()) for _ in range(CALLS)]
                assert [o["id"] for o in first] == ids  # oldest first, like tail -f
                late = await client.get("/late", headers=setup.proxy_headers())
                line = json.loads(await asyncio.wait_for(process.stdout.readline(), 60))
                assert line["id"] == late.headers["x-passway-request-id"]

    lines = [json.loads(line) for line in log_file.read_text().splitlines() if line.startswith("{")]
    calls = [line for line in lines if line.get("logger") == "passway.proxy.calls"]
    assert {line["request_id"] for line in calls} >= set(ids)
    for line in calls:
        assert line["project_id"] == setup.project_id
        assert {"installation_id", "provider", "method", "path", "status", "duration_ms"} <= set(
            line
        )
    text = log_file.read_text()
    for value in ("VALUE", "k-123456", setup.api_key, ADMIN_KEY):
        assert value not in text
