"""Notifications from served Passway processes: nothing is lost when a process is killed (SIGKILL)
between the commit of an event and its delivery, and two instances on one PostgreSQL database
never deliver an event twice.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from passway.crypto import encode_key_entry, new_key
from support.catalog import APIKEY_BEARER, write_test_catalog
from support.databases import fresh_postgres_database
from support.seed import (
    amp_yaml,
    create_api_key,
    create_connection,
    create_project,
    deploy,
    passway_client,
)
from support.server import ADMIN_KEY, make_settings, run_passway_process, settings_env
from support.webhook_receiver import WebhookReceiver, running_receiver

FAST: dict[str, Any] = {
    "webhook_backoff_base": 0.05,
    "webhook_backoff_max": 0.2,
    "webhook_poll_interval": 0.05,
    # The lease of a killed deliverer runs out 2 * timeout + 5 s later.
    "webhook_timeout": 1.0,
}


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with running_receiver() as running:
        yield running


def kill_passway(base_url: str) -> None:
    """SIGKILL the Passway server listening at ``base_url`` (its whole process group)."""
    port = base_url.rsplit(":", 1)[1]
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            cmdline = child.cmdline()
            if "uvicorn" in " ".join(cmdline) and port in cmdline:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait(timeout=10)
                return
    raise AssertionError(f"no Passway process for {base_url}")


async def setup_project(client: httpx.AsyncClient, hook_url: str) -> tuple[str, str, str]:
    """Project, key, integration, and a webhook destination for every event: (project, key,
    signing secret)."""
    project = await create_project(client, ADMIN_KEY)
    key = (await create_api_key(client, ADMIN_KEY, project["id"]))["key"]
    await deploy(client, key, project["id"], amp_yaml("crm", APIKEY_BEARER))
    auth = {"X-Api-Key": key}
    base = f"/v1/projects/{project['id']}"
    made = await client.post(
        base + "/destinations", json={"name": "hooks", "metadata": {"url": hook_url}}, headers=auth
    )
    assert made.status_code == 201, made.text
    route = {"eventType": "*", "destinationId": "hooks"}
    assert (await client.post(base + "/notification-routes", json=route, headers=auth)).is_success
    return project["id"], key, made.json()["secrets"]["webhookSigningKey"]


async def connections(client: httpx.AsyncClient, project: str, key: str, n: int) -> set[str]:
    made = set()
    for i in range(n):
        connection = await create_connection(
            client,
            key,
            project,
            provider=APIKEY_BEARER,
            credential={"apiKey": f"k{i}"},
            consumer_ref=f"consumer-{i}",
        )
        made.add(connection["id"])
    return made


async def test_events_committed_before_a_kill_are_all_delivered_after_the_restart(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    catalog = write_test_catalog(tmp_path / "catalog.json", "http://127.0.0.1:9")
    settings = make_settings(tmp_path, catalog_file=catalog, **FAST)
    # First life: events are committed, the deliverer does not run, then SIGKILL.
    quiet = settings_env(settings.replace(webhooks_enabled=False))
    async with run_passway_process(quiet) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            project, key, secret = await setup_project(client, receiver.url)
            made = await connections(client, project, key, 5)
        kill_passway(base_url)
    assert receiver.received == []
    # Second life on the same data: everything arrives, once, signed.
    async with run_passway_process(settings_env(settings)):
        await receiver.wait_for(5)
    payloads = receiver.verified(secret)
    assert {p["data"]["connectionId"] for p in payloads} == made
    assert len(receiver.ids()) == len(set(receiver.ids())) == 5


async def test_a_delivery_in_flight_when_killed_is_sent_again_with_the_same_id(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    catalog = write_test_catalog(tmp_path / "catalog.json", "http://127.0.0.1:9")
    # A lease of 2 * 3 + 5 s: the kill comes long before the 3 s exchange would time out.
    settings = make_settings(tmp_path, catalog_file=catalog, **{**FAST, "webhook_timeout": 3.0})
    receiver.hold = True  # the receiver takes the request and does not answer
    async with run_passway_process(settings_env(settings)) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
            project, key, secret = await setup_project(client, receiver.url)
            made = await connections(client, project, key, 1)
        await receiver.wait_held(1)
        kill_passway(base_url)
    held = receiver.held_ids()
    receiver.release()
    # The killed worker's lease runs out, then the restarted one sends it again.
    async with run_passway_process(settings_env(settings)):
        await receiver.wait_for(1)
    payloads = receiver.verified(secret)
    assert {p["data"]["connectionId"] for p in payloads} == made
    assert receiver.ids() == held


@pytest.mark.postgres
async def test_two_instances_on_one_postgres_database_deliver_each_event_once(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    catalog = write_test_catalog(tmp_path / "catalog.json", "http://127.0.0.1:9")
    keys = (encode_key_entry(*new_key()),)
    async with fresh_postgres_database() as database_url:

        def instance(name: str) -> Any:
            return make_settings(
                tmp_path / name,
                catalog_file=catalog,
                database_url=database_url,
                encryption_keys=keys,
                **FAST,
            )

        async with (
            passway_client(instance("a")) as a,
            passway_client(instance("b")) as b,
        ):
            project, key, secret = await setup_project(a, receiver.url)
            made = await connections(a, project, key, 15) | await connections(b, project, key, 15)
            await receiver.wait_for(30)
            auth = {"X-Api-Key": key}
            path = f"/v1/projects/{project}/notification-deliveries"
            while (await a.get(path, params={"status": "pending"}, headers=auth)).json():
                await receiver.pause()
            delivered = (await a.get(path, params={"status": "delivered"}, headers=auth)).json()
        assert len(delivered) == 30 and all(d["attempts"] == 1 for d in delivered)
    payloads = receiver.verified(secret)
    assert {p["data"]["connectionId"] for p in payloads} == made
    assert len(receiver.ids()) == len(set(receiver.ids())) == 30
