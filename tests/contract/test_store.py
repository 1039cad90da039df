"""The store contract: one suite, run against MemoryStore, SQLite and PostgreSQL (``any_store``).

Leases, OAuth states and the change feed are in ``test_store_coordination.py``; what only the SQL
store does (encryption, rewrap, migrations) in ``test_sql_store.py``.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from passway.errors import Conflict, NotFound
from passway.store.protocol import Store
from support.records import Records


async def test_projects_are_created_and_found_by_id_or_name(any_store: Store, make: Records):
    a, b = make.project("alpha"), make.project("beta")
    await any_store.create_project(a)
    await any_store.create_project(b)
    assert await any_store.get_project(a.id) == a
    assert await any_store.get_project("beta") == b
    assert await any_store.get_project("nope") is None
    assert await any_store.list_projects() == [a, b]


async def test_project_name_is_unique(any_store: Store, make: Records):
    await any_store.create_project(make.project("alpha"))
    with pytest.raises(Conflict):
        await any_store.create_project(make.project("alpha"))
    assert len(await any_store.list_projects()) == 1


async def test_api_keys_crud_and_prefix_lookup_across_projects(any_store: Store, make: Records):
    a, b = make.project(), make.project()
    await any_store.create_project(a)
    await any_store.create_project(b)
    ka = await any_store.create_api_key(make.api_key(a.id, prefix="PREFIXaaaaaa"))
    kb = await any_store.create_api_key(make.api_key(b.id, prefix="PREFIXaaaaaa"))
    other = await any_store.create_api_key(make.api_key(a.id, prefix="PREFIXbbbbbb"))

    assert await any_store.find_api_keys_by_prefix("PREFIXaaaaaa") == [ka, kb]
    assert await any_store.get_api_key(a.id, ka.id) == ka
    assert await any_store.list_api_keys(a.id) == [ka, other]

    revoked = dataclasses.replace(ka, active=False, label="old", update_time=ka.update_time)
    assert await any_store.update_api_key(revoked) == revoked
    assert await any_store.get_api_key(a.id, ka.id) == revoked

    assert await any_store.delete_api_key(a.id, ka.id) is True
    assert await any_store.delete_api_key(a.id, ka.id) is False
    assert await any_store.get_api_key(a.id, ka.id) is None


async def test_api_keys_of_another_project_are_invisible(any_store: Store, make: Records):
    a, b = make.project(), make.project()
    await any_store.create_project(a)
    await any_store.create_project(b)
    key = await any_store.create_api_key(make.api_key(a.id))
    assert await any_store.get_api_key(b.id, key.id) is None
    assert await any_store.list_api_keys(b.id) == []
    with pytest.raises(NotFound):
        await any_store.update_api_key(dataclasses.replace(key, project_id=b.id, active=False))
    assert await any_store.delete_api_key(b.id, key.id) is False
    assert await any_store.get_api_key(a.id, key.id) == key


async def test_records_need_an_existing_project(any_store: Store, make: Records):
    with pytest.raises(NotFound):
        await any_store.create_api_key(make.api_key("no-such-project"))
    with pytest.raises(NotFound):
        await any_store.create_connection(make.connection("no-such-project"))


async def test_upsert_integrations_creates_then_updates_by_name_keeping_id(
    any_store: Store, make: Records
):
    p = make.project()
    await any_store.create_project(p)
    first = await any_store.upsert_integrations(p.id, [make.integration(p.id, "crm")])
    crm = first[0]
    again = make.integration(p.id, "crm", provider="hubspot", proxy_enabled=False)
    second = await any_store.upsert_integrations(p.id, [again, make.integration(p.id, "erp")])

    assert second[0].id == crm.id
    assert second[0].create_time == crm.create_time
    assert second[0].provider == "hubspot"
    assert second[0].proxy_enabled is False
    assert await any_store.get_integration(p.id, "crm") == second[0]
    assert await any_store.get_integration(p.id, crm.id) == second[0]
    assert [i.name for i in await any_store.list_integrations(p.id)] == ["crm", "erp"]
    assert (await any_store.get_integration(p.id, "erp")) == second[1]


async def test_upsert_integrations_is_all_or_nothing(any_store: Store, make: Records):
    p = make.project()
    await any_store.create_project(p)
    with pytest.raises(Conflict):
        await any_store.upsert_integrations(
            p.id, [make.integration(p.id, "a"), make.integration(p.id, "a")]
        )
    assert await any_store.list_integrations(p.id) == []


async def test_integrations_are_scoped_to_their_project(any_store: Store, make: Records):
    a, b = make.project(), make.project()
    await any_store.create_project(a)
    await any_store.create_project(b)
    [ia] = await any_store.upsert_integrations(a.id, [make.integration(a.id, "crm")])
    [ib] = await any_store.upsert_integrations(b.id, [make.integration(b.id, "crm")])
    assert ia.id != ib.id
    assert await any_store.get_integration(b.id, ia.id) is None
    assert await any_store.get_integration(b.id, "crm") == ib
    assert await any_store.delete_integration(b.id, ia.id) is False
    assert await any_store.get_integration(a.id, "crm") == ia


async def _installed(store: Store, make: Records) -> tuple[str, str, str, str]:
    """A project with integration ``crm`` installed by group ``g1`` on a connection."""
    p = make.project()
    await store.create_project(p)
    [integ] = await store.upsert_integrations(p.id, [make.integration(p.id, "crm")])
    conn = await store.create_connection(make.connection(p.id))
    inst = await store.create_installation(make.installation(integ, conn))
    return p.id, integ.id, conn.id, inst.id


async def test_connections_round_trip_every_field(any_store: Store, make: Records):
    p = make.project()
    await any_store.create_project(p)
    conn = make.connection(p.id)
    assert await any_store.create_connection(conn) == conn
    assert await any_store.get_connection(p.id, conn.id) == conn
    assert await any_store.get_connection_by_id(conn.id) == conn


async def test_list_connections_filters_and_returns_newest_first(any_store: Store, make: Records):
    p = make.project()
    await any_store.create_project(p)
    old = await any_store.create_connection(make.connection(p.id, "g1"))
    new = await any_store.create_connection(make.connection(p.id, "g1", consumer_ref="u2"))
    hub = await any_store.create_connection(make.connection(p.id, "g2", provider="hubspot"))
    assert await any_store.list_connections(p.id) == [hub, new, old]
    assert await any_store.list_connections(p.id, group_ref="g1") == [new, old]
    assert await any_store.list_connections(p.id, provider="hubspot") == [hub]
    assert await any_store.list_connections(p.id, group_ref="g1", consumer_ref="u2") == [new]


async def test_connections_of_another_project_are_invisible(any_store: Store, make: Records):
    a, b = make.project(), make.project()
    await any_store.create_project(a)
    await any_store.create_project(b)
    conn = await any_store.create_connection(make.connection(a.id))
    assert await any_store.get_connection(b.id, conn.id) is None
    assert await any_store.list_connections(b.id) == []
    assert await any_store.delete_connection(b.id, conn.id) is False
    with pytest.raises(NotFound):
        await any_store.update_connection(
            dataclasses.replace(conn, project_id=b.id), expected_version=1
        )
    assert await any_store.get_connection(a.id, conn.id) == conn


async def test_update_connection_bumps_version_and_refuses_stale_writers(
    any_store: Store, make: Records
):
    p = make.project()
    await any_store.create_project(p)
    conn = await any_store.create_connection(make.connection(p.id))
    fresh = dataclasses.replace(
        conn,
        credentials=make.credentials(),
        status="bad_credentials",
        update_time=conn.update_time + timedelta(minutes=1),
    )
    stored = await any_store.update_connection(fresh, expected_version=1)
    assert stored == dataclasses.replace(fresh, version=2)
    assert await any_store.get_connection(p.id, conn.id) == stored

    with pytest.raises(Conflict):
        await any_store.update_connection(conn, expected_version=1)
    assert await any_store.get_connection(p.id, conn.id) == stored


async def test_delete_connection_is_refused_while_an_installation_uses_it(
    any_store: Store, make: Records
):
    project_id, _, conn_id, inst_id = await _installed(any_store, make)
    with pytest.raises(Conflict):
        await any_store.delete_connection(project_id, conn_id)
    assert await any_store.get_connection(project_id, conn_id) is not None
    assert await any_store.delete_installation(project_id, inst_id) is True
    assert await any_store.delete_connection(project_id, conn_id) is True
    assert await any_store.get_connection(project_id, conn_id) is None
    assert await any_store.delete_connection(project_id, conn_id) is False


async def test_installations_are_unique_per_integration_and_group(any_store: Store, make: Records):
    project_id, integ_id, conn_id, inst_id = await _installed(any_store, make)
    integ = await any_store.get_integration(project_id, integ_id)
    conn = await any_store.get_connection(project_id, conn_id)
    assert integ is not None and conn is not None
    with pytest.raises(Conflict):
        await any_store.create_installation(make.installation(integ, conn, "g1"))
    other = await any_store.create_installation(make.installation(integ, conn, "g2"))
    assert await any_store.list_installations(project_id, integ_id) == [
        await any_store.get_installation(project_id, inst_id),
        other,
    ]
    assert await any_store.list_installations(project_id, integ_id, group_ref="g2") == [other]


async def test_find_installation_by_integration_name_and_group(any_store: Store, make: Records):
    project_id, _, _, inst_id = await _installed(any_store, make)
    found = await any_store.find_installation(project_id, "crm", "g1")
    assert found is not None and found.id == inst_id
    assert await any_store.find_installation(project_id, "crm", "g2") is None
    assert await any_store.find_installation(project_id, "erp", "g1") is None


async def test_installations_of_another_project_are_invisible(any_store: Store, make: Records):
    project_id, integ_id, _, inst_id = await _installed(any_store, make)
    b = make.project()
    await any_store.create_project(b)
    await any_store.upsert_integrations(b.id, [make.integration(b.id, "crm")])
    assert await any_store.find_installation(b.id, "crm", "g1") is None
    assert await any_store.get_installation(b.id, inst_id) is None
    assert await any_store.list_installations(b.id, integ_id) == []
    assert await any_store.delete_installation(b.id, inst_id) is False
    assert await any_store.get_installation(project_id, inst_id) is not None


async def test_installation_cannot_point_at_another_projects_connection(
    any_store: Store, make: Records
):
    a, b = make.project(), make.project()
    await any_store.create_project(a)
    await any_store.create_project(b)
    [integ] = await any_store.upsert_integrations(a.id, [make.integration(a.id)])
    foreign = await any_store.create_connection(make.connection(b.id))
    with pytest.raises(NotFound):
        await any_store.create_installation(make.installation(integ, foreign))


async def test_update_installation_moves_it_to_another_connection(any_store: Store, make: Records):
    project_id, _, _, inst_id = await _installed(any_store, make)
    inst = await any_store.get_installation(project_id, inst_id)
    assert inst is not None
    second = await any_store.create_connection(make.connection(project_id))
    moved = dataclasses.replace(inst, connection_id=second.id, health_status="unhealthy")
    assert await any_store.update_installation(moved) == moved
    assert await any_store.get_installation(project_id, inst_id) == moved


async def test_delete_integration_deletes_its_installations(any_store: Store, make: Records):
    project_id, integ_id, conn_id, inst_id = await _installed(any_store, make)
    assert await any_store.delete_integration(project_id, integ_id) is True
    assert await any_store.get_integration(project_id, integ_id) is None
    assert await any_store.get_installation(project_id, inst_id) is None
    assert await any_store.find_installation(project_id, "crm", "g1") is None
    # The connection survives and, no longer used, can now be deleted.
    assert await any_store.delete_connection(project_id, conn_id) is True


async def test_provider_apps_crud_keeps_the_secret(any_store: Store, make: Records):
    a, b = make.project(), make.project()
    await any_store.create_project(a)
    await any_store.create_project(b)
    app = await any_store.create_provider_app(make.provider_app(a.id))
    assert await any_store.get_provider_app(a.id, app.id) == app
    assert await any_store.get_provider_app(b.id, app.id) is None
    assert await any_store.list_provider_apps(a.id) == [app]
    assert await any_store.list_provider_apps(b.id) == []
    rotated = dataclasses.replace(app, client_secret="new-secret", scopes=("api", "refresh"))
    assert await any_store.update_provider_app(rotated) == rotated
    assert await any_store.get_provider_app(a.id, app.id) == rotated
    assert await any_store.delete_provider_app(b.id, app.id) is False
    assert await any_store.delete_provider_app(a.id, app.id) is True
    assert await any_store.get_provider_app(a.id, app.id) is None


async def test_provider_app_in_use_by_a_connection_cannot_be_deleted(
    any_store: Store, make: Records
):
    p = make.project()
    await any_store.create_project(p)
    app = await any_store.create_provider_app(make.provider_app(p.id))
    conn = await any_store.create_connection(make.connection(p.id, provider_app_id=app.id))
    with pytest.raises(Conflict):
        await any_store.delete_provider_app(p.id, app.id)
    assert await any_store.get_connection(p.id, conn.id) == conn


async def test_connection_cannot_use_another_projects_provider_app(any_store: Store, make: Records):
    a, b = make.project(), make.project()
    await any_store.create_project(a)
    await any_store.create_project(b)
    app = await any_store.create_provider_app(make.provider_app(b.id))
    with pytest.raises(NotFound):
        await any_store.create_connection(make.connection(a.id, provider_app_id=app.id))
