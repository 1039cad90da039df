"""Operations over real sockets: one per proxy call (Passway's own answers too), read back through
the API with filters and pages, per-call logs, installation status, request ids on every port."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

import support.catalog as tc
from support.seed import SeededSetup, create_api_key, create_project, seed_proxy_setup
from support.server import ADMIN_KEY, FRONT_DOORS, ProxyWorld, proxy_world
from support.upstream import client_leaves
from support.wire import WAIT, open_wire, raw_request

REQUEST_ID = re.compile(r"[0-9a-f]{32}")
SECRET = "op-test-secret-value-0123456789"


@pytest.fixture(params=FRONT_DOORS)
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ProxyWorld]:
    async with proxy_world(tmp_path, front_door=request.param) as w:
        yield w


async def seed(world: ProxyWorld, **kw: Any) -> SeededSetup:
    return await seed_proxy_setup(
        world.client, ADMIN_KEY, provider=tc.APIKEY_BEARER, credential={"apiKey": SECRET}, **kw
    )


def admin(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"x-api-key": ADMIN_KEY, **(extra or {})}


async def wait_for_operation(world: ProxyWorld, project: str, op_id: str) -> dict[str, Any]:
    """Poll until the background writer has stored the operation (no timing asserted)."""
    for _ in range(200):
        got = await world.client.get(f"/v1/projects/{project}/operations/{op_id}", headers=admin())
        if got.status_code == 200:
            return dict(got.json())
        assert got.status_code == 404, got.text
        await asyncio.sleep(0.05)
    raise AssertionError(f"operation {op_id} never appeared")


async def test_a_proxied_success_carries_its_request_id_and_is_its_operation(
    world: ProxyWorld,
) -> None:
    setup = await seed(world)
    answer = await world.proxy_client.post(
        "/things/7?token=do-not-store", headers=setup.proxy_headers(), content=b"12345"
    )
    assert answer.status_code == 200
    request_id = answer.headers["x-passway-request-id"]
    assert REQUEST_ID.fullmatch(request_id)
    op = await wait_for_operation(world, setup.project_id, request_id)
    assert op["id"] == request_id
    assert op["projectId"] == setup.project_id
    assert op["installationId"] == setup.installation_id
    assert op["integrationId"] == setup.integration_id
    assert op["connectionId"] == setup.connection_id
    assert op["groupRef"] == setup.group_ref
    assert op["provider"] == tc.APIKEY_BEARER
    assert (op["method"], op["path"]) == ("POST", "/things/7")
    assert (op["status"], op["result"], op["errorCode"], op["upstreamStatus"]) == (
        200,
        "success",
        None,
        200,
    )
    assert op["requestBytes"] == 5
    assert op["responseBytes"] == len(answer.content)
    assert op["durationMs"] >= op["upstreamDurationMs"] >= 0
    assert (op["tokenRefreshed"], op["replayed"]) == (False, False)
    assert "do-not-store" not in str(op)


async def test_calls_passway_answers_itself_are_operations_with_their_error_code(
    world: ProxyWorld,
) -> None:
    setup = await seed(world)
    bad_key = "pw_" + "c" * 12 + "_" + "d" * 40
    refused = await world.proxy_client.get(
        "/x", headers=setup.proxy_headers(**{"x-api-key": bad_key})
    )
    assert refused.status_code == 401
    request_id = refused.headers["x-passway-request-id"]
    assert refused.json()["requestId"] == request_id
    op = await wait_for_operation(world, setup.project_id, request_id)
    assert (op["status"], op["result"], op["errorCode"]) == (401, "failure", "unauthenticated")
    assert op["installationId"] is None and op["upstreamStatus"] is None


async def test_a_client_leaving_before_the_answer_is_a_499_operation_and_frees_the_provider(
    world: ProxyWorld,
) -> None:
    """The client closes its connection while the provider holds the call: the provider's
    connection is closed (it sees its client go), and the operation says the client left."""
    setup = await seed(world)
    arrived = asyncio.Event()
    provider_saw_close = asyncio.Event()

    async def hold(request: web.Request) -> web.StreamResponse:
        arrived.set()
        if await client_leaves(request, 10):
            provider_saw_close.set()
        return web.json_response({"too": "late"})

    world.upstream.set_handler("GET", "/left-early", hold)
    async with open_wire(world.proxy_url) as conn:
        await conn.send(raw_request("GET", "/left-early", setup.proxy_headers()))
        await asyncio.wait_for(arrived.wait(), WAIT)
    await asyncio.wait_for(provider_saw_close.wait(), WAIT)
    listed = f"/v1/projects/{setup.project_id}/operations"
    for _ in range(200):
        ops = (await world.client.get(listed, headers=admin())).json()["operations"]
        left = [op for op in ops if op["path"] == "/left-early"]
        if left:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the call of the client that left was never recorded")
    assert len(left) == 1
    assert (left[0]["status"], left[0]["result"], left[0]["errorCode"]) == (
        499,
        "failure",
        "client_disconnected",
    )
    assert left[0]["connectionId"] == setup.connection_id


async def test_every_port_answers_with_one_request_id_format(world: ProxyWorld) -> None:
    seen = []
    for client, path in (
        (world.client, "/healthz"),
        (world.client, "/readyz"),
        (world.client, "/metrics"),
        (world.client, "/v1/providers"),
        (world.client, "/v1/no-such-route"),
        (world.proxy_client, "/healthz"),
        (world.proxy_client, "/readyz"),
    ):
        answer = await client.get(path)
        seen.append(answer.headers.get("x-passway-request-id", ""))
    assert all(REQUEST_ID.fullmatch(i) for i in seen), seen
    assert len(set(seen)) == len(seen)


async def test_list_filters_pages_newest_first_and_isolates_projects(world: ProxyWorld) -> None:
    setup = await seed(world)
    ids = []
    for n in range(5):
        answer = await world.proxy_client.get(f"/page/{n}", headers=setup.proxy_headers())
        ids.append(answer.headers["x-passway-request-id"])
    world.upstream.set_handler("GET", "/broken", lambda r: _status(r, 500))
    failed = await world.proxy_client.get("/broken", headers=setup.proxy_headers())
    assert failed.status_code == 500
    ids.append(failed.headers["x-passway-request-id"])
    await wait_for_operation(world, setup.project_id, ids[-1])
    base = f"/v1/projects/{setup.project_name}/operations"

    pages: list[str] = []
    token = None
    while True:
        params: dict[str, Any] = {"pageSize": 2}
        if token:
            params["pageToken"] = token
        page = (await world.client.get(base, params=params, headers=admin())).json()
        pages += [o["id"] for o in page["operations"]]
        token = page["nextPageToken"]
        if token is None:
            break
    assert pages == list(reversed(ids))

    failures = (await world.client.get(base, params={"result": "failure"}, headers=admin())).json()
    assert [o["id"] for o in failures["operations"]] == [ids[-1]]
    assert failures["operations"][0]["upstreamStatus"] == 500
    by_install = await world.client.get(
        base,
        params={"installationId": setup.installation_id, "integrationId": setup.integration_name},
        headers=admin(),
    )
    assert len(by_install.json()["operations"]) == 6
    by_group = await world.client.get(base, params={"groupRef": "other"}, headers=admin())
    assert by_group.json() == {"operations": [], "nextPageToken": None}
    too_big = await world.client.get(base, params={"pageSize": 1001}, headers=admin())
    assert too_big.status_code == 400
    bad_token = await world.client.get(base, params={"pageToken": "nope"}, headers=admin())
    assert bad_token.status_code == 400
    since = await world.client.get(base, params={"since": "2999-01-01T00:00:00Z"}, headers=admin())
    assert since.json()["operations"] == []

    # Another project's key sees none of them.
    other = await create_project(world.client, ADMIN_KEY)
    other_key = (await create_api_key(world.client, ADMIN_KEY, other["id"]))["key"]
    mine = f"/v1/projects/{setup.project_id}/operations"
    assert (await world.client.get(mine, headers={"x-api-key": other_key})).status_code == 404
    theirs = f"/v1/projects/{other['id']}/operations"
    assert (await world.client.get(theirs, headers={"x-api-key": other_key})).json() == {
        "operations": [],
        "nextPageToken": None,
    }
    one = f"{theirs}/{ids[0]}"
    assert (await world.client.get(one, headers={"x-api-key": other_key})).status_code == 404


async def _status(_request: web.Request, status: int) -> web.Response:
    return web.Response(status=status, text="nope")


async def test_operation_logs_tell_what_happened_within_the_call(world: ProxyWorld) -> None:
    setup = await seed(world)

    async def slow_down(_request: web.Request) -> web.Response:
        return web.Response(status=429, headers={"retry-after": "30"})

    world.upstream.set_handler("GET", "/busy", slow_down)
    answer = await world.proxy_client.get("/busy", headers=setup.proxy_headers())
    assert answer.status_code == 429
    request_id = answer.headers["x-passway-request-id"]
    await wait_for_operation(world, setup.project_id, request_id)
    logs = await world.client.get(
        f"/v1/projects/{setup.project_id}/operations/{request_id}/logs", headers=admin()
    )
    entries = logs.json()["logs"]
    assert any("throttle window" in e["message"] for e in entries), entries
    assert {"time", "level", "message"} <= set(entries[0])
    assert entries[0]["connection_id"] == setup.connection_id


async def test_installations_show_their_last_operation_status(world: ProxyWorld) -> None:
    setup = await seed(world)
    world.upstream.set_handler("GET", "/denied", lambda r: _status(r, 401))
    answer = await world.proxy_client.get("/denied", headers=setup.proxy_headers())
    await wait_for_operation(world, setup.project_id, answer.headers["x-passway-request-id"])
    path = (
        f"/v1/projects/{setup.project_id}/integrations/{setup.integration_id}"
        f"/installations/{setup.installation_id}"
    )
    installation = (await world.client.get(path, headers=admin())).json()
    assert (installation["lastOperationStatus"], installation["healthStatus"]) == (
        "failure",
        "unhealthy",
    )
    ok = await world.proxy_client.get("/fine", headers=setup.proxy_headers())
    await wait_for_operation(world, setup.project_id, ok.headers["x-passway-request-id"])
    listed = (await world.client.get(path.rsplit("/", 1)[0], headers=admin())).json()
    assert (listed[0]["lastOperationStatus"], listed[0]["healthStatus"]) == ("success", "healthy")

    # The replaced service's installation-scoped list, in its shape.
    scoped = (await world.client.get(path + "/operations", headers=admin())).json()
    assert scoped["pagination"] == {"done": True}
    assert [o["status"] for o in scoped["results"]] == [200, 401]
    missing = await world.client.get(
        path.replace(setup.installation_id, str(uuid.uuid4())) + "/operations", headers=admin()
    )
    assert missing.status_code == 404


async def test_retention_zero_records_nothing_but_still_answers_with_ids(tmp_path: Path) -> None:
    async with proxy_world(tmp_path, operations_retention_days=0) as world:
        setup = await seed(world)
        answer = await world.proxy_client.get("/x", headers=setup.proxy_headers())
        request_id = answer.headers["x-passway-request-id"]
        await world.app.runtime.operations.flush()  # type: ignore[union-attr]
        got = await world.client.get(
            f"/v1/projects/{setup.project_id}/operations/{request_id}", headers=admin()
        )
        assert got.status_code == 404


async def test_readyz_is_503_when_the_database_is_not_migrated(tmp_path: Path) -> None:
    async with proxy_world(tmp_path, front_door="listener") as world:
        assert (await world.client.get("/readyz")).json() == {
            "status": "ready",
            "checks": {"database": True},
        }
        engine = world.app.runtime.store.engine  # type: ignore[union-attr, attr-defined]
        async with engine.begin() as conn:
            await conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'old'")
        for client in (world.client, world.proxy_client):
            answer = await client.get("/readyz")
            assert answer.status_code == 503
            assert answer.json()["checks"] == {"database": False}
            assert (await client.get("/healthz")).status_code == 200


async def test_the_management_api_and_metrics_are_not_proxy_calls(world: ProxyWorld) -> None:
    """Only proxy calls become operations; other answers still carry an id."""
    setup = await seed(world)
    answer = await world.client.get(f"/v1/projects/{setup.project_id}", headers=admin())
    assert REQUEST_ID.fullmatch(answer.headers["x-passway-request-id"])
    await world.app.runtime.operations.flush()  # type: ignore[union-attr]
    listed = await world.client.get(f"/v1/projects/{setup.project_id}/operations", headers=admin())
    assert listed.json()["operations"] == []
