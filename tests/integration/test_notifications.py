"""Notifications end to end in one process: the management API, the store's outbox, the deliverer,
and a real webhook receiver on loopback whose every request is verified with ``standardwebhooks``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.catalog import APIKEY_BEARER, write_test_catalog
from support.seed import (
    amp_yaml,
    create_api_key,
    create_connection,
    create_installation,
    create_project,
    deploy,
    passway_client,
)
from support.server import ADMIN_KEY, make_settings
from support.webhook_receiver import WebhookReceiver, running_receiver

FAST = {
    "webhook_backoff_base": 0.05,
    "webhook_backoff_max": 0.2,
    "webhook_poll_interval": 0.05,
    "webhook_timeout": 5.0,
}
API_SECRET = "k-secret-value-that-must-not-leak"


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with running_receiver() as running:
        yield running


class Project:
    def __init__(self, client: httpx.AsyncClient, project_id: str, key: str) -> None:
        self.client = client
        self.id = project_id
        self.key = key
        self.auth = {"X-Api-Key": key}
        self.base = f"/v1/projects/{project_id}"

    async def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.client.post(self.base + path, json=body, headers=self.auth)
        assert response.status_code in (200, 201), response.text
        result: dict[str, Any] = response.json()
        return result

    async def get(self, path: str, **params: Any) -> Any:
        response = await self.client.get(self.base + path, params=params, headers=self.auth)
        assert response.status_code == 200, response.text
        return response.json()

    async def destination(self, url: str, event_type: str = "*", name: str = "hooks") -> str:
        made = await self.post(
            "/destinations",
            {"name": name, "type": "webhook", "metadata": {"url": url, "headers": {"X-Env": "t"}}},
        )
        await self.post("/notification-routes", {"eventType": event_type, "destinationId": name})
        secret: str = made["secrets"]["webhookSigningKey"]
        assert secret.startswith("whsec_")
        return secret

    async def connection(self, consumer: str = "consumer-1") -> dict[str, Any]:
        return await create_connection(
            self.client,
            self.key,
            self.id,
            provider=APIKEY_BEARER,
            credential={"apiKey": API_SECRET},
            consumer_ref=consumer,
        )

    async def deliveries(self, **params: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = await self.get("/notification-deliveries", **params)
        return found

    async def deliveries_once(
        self, ready: Callable[[list[dict[str, Any]]], bool], what: str, **params: Any
    ) -> list[dict[str, Any]]:
        """The deliveries as soon as ``ready`` holds for them (polled; fails after 30 s)."""
        deadline = asyncio.get_running_loop().time() + 30.0
        while not ready(found := await self.deliveries(**params)):
            assert asyncio.get_running_loop().time() < deadline, f"no {what} in 30 s: {found}"
            await asyncio.sleep(0.05)
        return found


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    catalog = write_test_catalog(tmp_path / "catalog.json", "http://127.0.0.1:9")
    async with passway_client(make_settings(tmp_path, catalog_file=catalog, **FAST)) as client:
        yield client


async def new_project(client: httpx.AsyncClient) -> Project:
    project = await create_project(client, ADMIN_KEY)
    key = (await create_api_key(client, ADMIN_KEY, project["id"]))["key"]
    await deploy(client, key, project["id"], amp_yaml("crm", APIKEY_BEARER))
    return Project(client, project["id"], key)


async def test_each_event_arrives_once_signed_with_the_documented_payload(
    client: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    project = await new_project(client)
    secret = await project.destination(receiver.url)
    connection = await project.connection()
    installation = await create_installation(client, project.key, project.id, "crm")
    path = f"/integrations/crm/installations/{installation['id']}"
    patched = await client.patch(
        project.base + path,
        json={
            "updateMask": ["config.content.note"],
            "installation": {"config": {"content": {"note": "x"}}},
        },
        headers=project.auth,
    )
    assert patched.status_code == 200, patched.text
    deleted = await client.delete(project.base + path, headers=project.auth)
    assert deleted.status_code == 204

    await receiver.wait_for(4)
    payloads = receiver.verified(secret)
    assert [p["notificationType"] for p in payloads] == [
        "connection.created",
        "installation.created",
        "installation.updated",
        "installation.deleted",
    ]
    assert len(set(receiver.ids())) == len(receiver.ids())
    created = payloads[0]["data"]
    assert created["connectionId"] == connection["id"]
    assert created["projectId"] == project.id and created["provider"] == APIKEY_BEARER
    assert created["groupRef"] == "group-1" and created["consumerRef"] == "consumer-1"
    updated = payloads[2]["data"]
    assert updated["installationId"] == installation["id"]
    assert updated["integrationName"] == "crm" and updated["connectionId"] == connection["id"]
    assert updated["config"]["content"]["note"] == "x"
    assert "note" not in updated["lastConfig"].get("content", {})
    assert all(r.headers["x-env"] == "t" for r in receiver.received)
    assert all(r.headers["content-type"] == "application/json" for r in receiver.received)
    assert not any(API_SECRET.encode() in r.body or b"whsec_" in r.body for r in receiver.received)

    events = await project.get("/notifications")
    assert {e["notificationType"] for e in events} == {
        "connection.created",
        "installation.created",
        "installation.updated",
        "installation.deleted",
    }
    assert all(e["id"] in receiver.ids() for e in events)
    deliveries = [d for e in events for d in e["deliveries"]]
    assert len(deliveries) == 4
    assert all(d["status"] == "delivered" and d["attempts"] == 1 for d in deliveries)
    # The signing key is shown once: never in a later read.
    listed = await project.get("/destinations")
    assert "secrets" not in listed[0] and "whsec_" not in str(listed)


async def test_routes_choose_which_events_go_where(
    client: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    project = await new_project(client)
    await project.destination(receiver.url, event_type="installation.created")
    await project.connection()
    await create_installation(client, project.key, project.id, "crm")
    await receiver.wait_for(1)
    events = await project.get("/notifications")
    by_type = {e["notificationType"]: e for e in events}
    assert by_type["connection.created"]["deliveries"] == []
    assert [d["status"] for d in by_type["installation.created"]["deliveries"]] == ["delivered"]
    assert [r.payload["notificationType"] for r in receiver.received] == ["installation.created"]


async def test_a_receiver_down_for_a_while_gets_everything_once_it_is_back(
    client: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    project = await new_project(client)
    secret = await project.destination(receiver.url)
    await receiver.stop()
    made = [await project.connection(f"consumer-{i}") for i in range(5)]
    # Wait until every delivery failed at least once (the receiver refused the connection).
    pending = await project.deliveries_once(
        lambda found: len(found) == 5 and all(d["attempts"] >= 1 for d in found),
        "five deliveries each tried once",
    )
    assert all(d["status"] == "pending" and d["lastError"] for d in pending)
    assert all(d["nextAttemptTime"] is not None for d in pending)
    await receiver.start()
    await receiver.wait_for(5)
    payloads = receiver.verified(secret)
    assert sorted(p["data"]["connectionId"] for p in payloads) == sorted(c["id"] for c in made)
    await project.deliveries_once(
        lambda found: all(d["status"] == "delivered" for d in found), "every delivery delivered"
    )
    # The attempts are counted in the instance's metrics, failed ones and delivered ones apart.
    metrics = (await client.get("/metrics")).text
    samples = dict(
        line.rsplit(" ", 1) for line in metrics.splitlines() if line.startswith("passway_webhook")
    )
    assert float(samples['passway_webhook_deliveries_total{outcome="failed"}']) >= 5
    assert float(samples['passway_webhook_deliveries_total{outcome="delivered"}']) == 5
    assert float(samples["passway_webhook_delivery_latency_seconds_count"]) == 5


async def test_a_redirect_is_a_failed_attempt_and_an_operator_can_redeliver(
    client: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    project = await new_project(client)
    secret = await project.destination(receiver.url)
    receiver.answer = 302
    await project.connection()
    found = await project.deliveries_once(
        lambda found: bool(found) and found[0]["attempts"] >= 2, "a delivery tried twice"
    )
    assert found[0]["lastStatusCode"] == 302 and "302" in found[0]["lastError"]
    assert receiver.received == []
    receiver.answer = 200
    again = await project.post(f"/notification-deliveries/{found[0]['id']}:redeliver")
    assert again["status"] == "pending"
    await receiver.wait_for(1)
    assert receiver.verified(secret)[0]["notificationType"] == "connection.created"


async def test_a_rotated_secret_signs_from_then_on(
    client: httpx.AsyncClient, receiver: WebhookReceiver
) -> None:
    project = await new_project(client)
    old = await project.destination(receiver.url)
    rotated = await project.post("/destinations/hooks:rotateSecret")
    new = rotated["secrets"]["webhookSigningKey"]
    assert new != old and new.startswith("whsec_")
    await project.connection()
    await receiver.wait_for(1)
    assert receiver.verified(new)
    with pytest.raises(Exception, match="signature"):
        receiver.verified(old)


async def test_a_destination_failing_past_the_retry_window_is_disabled_and_reported(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    catalog = write_test_catalog(tmp_path / "catalog.json", "http://127.0.0.1:9")
    # A retry window of about a second: the first failures already exceed it after that.
    settings = make_settings(
        tmp_path, catalog_file=catalog, **{**FAST, "webhook_retry_hours": 0.0003}
    )
    async with (
        passway_client(settings) as client,
        running_receiver() as watcher,
    ):
        project = await new_project(client)
        await project.destination(receiver.url, event_type="connection.created")
        watcher_secret = await project.destination(
            watcher.url, event_type="destination.webhook.disabled", name="watcher"
        )
        receiver.answer = 500
        await project.connection()
        hooks = await project.get("/destinations/hooks")
        # The first event's delivery gives up once its window ran out ...
        first = await project.deliveries_once(
            lambda found: found[0]["status"] == "failed",
            "delivery given up",
            destinationId=hooks["id"],
        )
        assert first[0]["attempts"] >= 2 and first[0]["nextAttemptTime"] is None
        # ... and a failure to the destination, failing for longer than that, disables it (that
        # last attempt, if it came late enough, or the next event's first).
        await project.connection("consumer-2")
        await watcher.wait_for(1)
        disabled = watcher.verified(watcher_secret)[0]
        assert disabled["notificationType"] == "destination.webhook.disabled"
        assert disabled["data"]["destinationName"] == "hooks"
        assert disabled["data"]["url"] == receiver.url
        hooks = await project.get("/destinations/hooks")
        assert hooks["enabled"] is False and "HTTP 500" in hooks["disabledReason"]
        failed = await project.deliveries(destinationId=hooks["id"])
        assert failed and all(d["lastStatusCode"] in (500, None) for d in failed)
        failed = [d for d in failed if d["status"] == "failed"]
        # Enabled again and redelivered, the event goes through.
        receiver.answer = 200
        response = await client.patch(
            project.base + "/destinations/hooks",
            json={"updateMask": ["enabled"], "destination": {"enabled": True}},
            headers=project.auth,
        )
        assert response.status_code == 200 and response.json()["enabled"] is True
        await project.post(f"/notification-deliveries/{failed[0]['id']}:redeliver")
        await receiver.wait_for(1)


async def test_webhook_targets_go_through_the_egress_guard(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    catalog = write_test_catalog(tmp_path / "catalog.json", "http://127.0.0.1:9")
    settings = make_settings(tmp_path, catalog_file=catalog, egress_allow=(), **FAST)
    async with passway_client(settings) as client:
        project = await new_project(client)
        await project.destination(receiver.url)
        await project.connection()
        found = await project.deliveries_once(
            lambda found: bool(found) and found[0]["attempts"] >= 1, "a delivery tried"
        )
        assert "loopback" in found[0]["lastError"] or "not allowed" in found[0]["lastError"]
        assert receiver.received == []


async def test_bad_destinations_and_routes_are_refused(client: httpx.AsyncClient) -> None:
    project = await new_project(client)
    for body in (
        {"name": "x", "type": "webhook", "metadata": {"url": "ftp://example.com/"}},
        {"name": "bad name", "type": "webhook", "metadata": {"url": "https://example.com/"}},
        {"name": "k", "type": "kinesis", "metadata": {"url": "https://example.com/"}},
        {"name": "h", "metadata": {"url": "https://e.com/", "headers": {"X": "a\r\nb"}}},
    ):
        response = await client.post(
            project.base + "/destinations", json=body, headers=project.auth
        )
        assert response.status_code == 400, body
    await project.post("/destinations", {"name": "ok", "metadata": {"url": "https://e.com/"}})
    response = await client.post(
        project.base + "/notification-routes",
        json={"eventType": "nope", "destinationId": "ok"},
        headers=project.auth,
    )
    assert response.status_code == 400
    other = await new_project(client)
    response = await client.get(other.base + "/destinations/ok", headers=other.auth)
    assert response.status_code == 404
