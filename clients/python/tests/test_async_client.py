"""``AsyncPassway`` against a served Passway: the same management calls and proxy client as
``Passway`` (which is generated from it), awaited; and the generated sync code is up to date."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from client_world import Fresh
from passway_client import AsyncPassway, ConflictError, NotFoundError
from support import catalog as tc
from support.upstream import status_handler

UNASYNC = Path(__file__).resolve().parents[1] / "unasync.py"


async def test_async_management_and_proxy_by_project_name(fresh: Fresh) -> None:
    async with AsyncPassway(fresh.url, fresh.api_key, project=fresh.project["name"]) as passway:
        deployment = await passway.integrations.deploy(
            "specVersion: 1.0.0\nintegrations:\n  - name: crm\n"
            f"    provider: {tc.APIKEY_BEARER}\n    proxy: {{enabled: true}}\n"
        )
        assert [i["name"] for i in deployment["integrations"]] == ["crm"]
        connection = await passway.connections.generate(
            provider=tc.APIKEY_BEARER,
            group_ref="customer-42",
            consumer_ref="user-7",
            credentials={"apiKey": "async-secret"},
        )
        installation = await passway.installations.create("crm", group_ref="customer-42")
        assert installation["connection"]["id"] == connection["id"]
        assert [i["id"] for i in await passway.installations.list()] == [installation["id"]]
        with pytest.raises(ConflictError):
            await passway.installations.create("crm", group_ref="customer-42")

        # The project was given by name: the proxy client looks its id up on the first call.
        async with passway.proxy(integration="crm", group_ref="customer-42") as crm:
            answer = await crm.post("/v1/things", json={"n": 1})
        assert answer.status_code == 200
        seen = fresh.upstream.requests[-1]
        assert seen.header("authorization") == "Bearer async-secret"
        assert await passway.project_id() == fresh.project["id"]

        await passway.installations.delete("crm", installation["id"])
        await passway.connections.delete(connection["id"])
        with pytest.raises(NotFoundError) as raised:
            await passway.connections.get(connection["id"])
        assert raised.value.code == "not_found"


async def test_async_proxy_returns_provider_errors_and_raises_passway_ones(fresh: Fresh) -> None:
    fresh.install(tc.APIKEY_BEARER, {"apiKey": "k"})
    fresh.upstream.set_handler("GET", "/broken", status_handler(500, body=b"provider down"))
    async with AsyncPassway(fresh.url, fresh.api_key, project=fresh.project["id"]) as passway:
        async with passway.proxy(integration="crm", group_ref="customer-42") as crm:
            answer = await crm.get("/broken")
        assert (answer.status_code, answer.content) == (500, b"provider down")
        async with passway.proxy(installation_id="no-such-installation") as nowhere:
            with pytest.raises(NotFoundError) as raised:
                await nowhere.get("/anything")
        assert raised.value.code == "installation_not_found"


def test_the_generated_sync_client_is_up_to_date() -> None:
    done = subprocess.run(
        [sys.executable, str(UNASYNC), "--check"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
