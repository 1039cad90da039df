"""The management API through the typed client, against a served Passway: every resource's calls,
and Passway's problem+json answers raised as ``PasswayError`` subclasses with their fields."""

from __future__ import annotations

import uuid

import pytest

from client_world import Fresh, Served
from passway_client import (
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    Passway,
    PasswayError,
    PermissionDeniedError,
)
from support import catalog as tc
from support.upstream import json_handler


def test_projects_and_api_keys(fresh: Fresh) -> None:
    projects = fresh.passway.projects.list()
    assert [p["id"] for p in projects] == [fresh.project["id"]]
    assert fresh.passway.projects.get(fresh.project["name"])["appName"] == "Client tests"
    assert fresh.passway.project_id() == fresh.project["id"]

    keys = fresh.passway.api_keys
    created = keys.create("second", scopes=["read"])
    assert created["key"].startswith("pw_")
    listed = {k["id"]: k for k in keys.list()}
    assert created["key"] not in {k["key"] for k in listed.values()}
    assert keys.get(created["keyPrefix"])["id"] == created["id"]
    assert keys.update(created["id"], label="renamed", active=False)["active"] is False
    keys.revoke(created["id"])
    with pytest.raises(NotFoundError):
        keys.get(created["id"])


def test_a_project_key_cannot_create_projects(fresh: Fresh) -> None:
    with pytest.raises(PermissionDeniedError) as raised:
        fresh.passway.projects.create(f"p-{uuid.uuid4().hex[:8]}")
    assert raised.value.code == "permission_denied"


def test_creating_the_same_project_twice_is_a_conflict(fresh: Fresh) -> None:
    with pytest.raises(ConflictError) as raised:
        fresh.admin.projects.create(fresh.project["name"])
    assert raised.value.status == 409


def test_integrations_deploy_list_get_delete(fresh: Fresh) -> None:
    deployment = fresh.passway.integrations.deploy(
        "specVersion: 1.0.0\nintegrations:\n  - name: sf\n    provider: salesforce\n"
        "    proxy: {enabled: true}\n"
    )
    [integration] = deployment["integrations"]
    assert integration["proxy"]["enabled"] is True
    assert fresh.passway.integrations.get("sf")["id"] == integration["id"]
    assert [i["name"] for i in fresh.passway.integrations.list()] == ["sf"]
    fresh.passway.integrations.delete("sf")
    assert fresh.passway.integrations.list() == []


def test_invalid_amp_yaml_names_each_problem(fresh: Fresh) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        fresh.passway.integrations.deploy("specVersion: 1.0.0\nintegrations:\n  - provider: 3\n")
    error = raised.value
    assert error.code == "invalid_amp_yaml"
    assert error.issues and all(issue.name for issue in error.issues)
    assert isinstance(error, PasswayError)
    assert error.request_id


def test_connections_list_get_refresh_delete(fresh: Fresh) -> None:
    fresh.upstream.set_handler(
        "POST",
        "/oauth/token",
        json_handler({"access_token": "fresh-token", "token_type": "bearer", "expires_in": 3600}),
    )
    fresh.passway.provider_apps.create(
        provider=tc.OAUTH2_BEARER, client_id="cid", client_secret="secret"
    )
    connection, installation = fresh.install(
        tc.OAUTH2_BEARER,
        {
            "oauth2AuthorizationCode": {
                "accessToken": {"token": "old-token"},
                "refreshToken": {"token": "refresh-1"},
            }
        },
    )
    connections = fresh.passway.connections
    assert [c["id"] for c in connections.list(group_ref="customer-42")] == [connection["id"]]
    assert connections.list(group_ref="someone-else") == []
    assert "oauth2AuthorizationCode" not in connections.get(connection["id"])

    refreshed = connections.refresh(connection["id"])
    assert refreshed["id"] == connection["id"]
    with_creds = connections.get(connection["id"], include_creds=True)
    assert with_creds["oauth2AuthorizationCode"]["accessToken"]["token"] == "fresh-token"
    assert fresh.upstream.requests[-1].raw_path == "/oauth/token"

    with pytest.raises(ConflictError):
        connections.delete(connection["id"])  # an installation still uses it
    fresh.passway.installations.delete("crm", installation["id"])
    connections.delete(connection["id"])
    with pytest.raises(NotFoundError):
        connections.get(connection["id"])


def test_connection_update_with_mask(fresh: Fresh) -> None:
    connection, _ = fresh.install(tc.APIKEY_BEARER, {"apiKey": "one"})
    fresh.passway.connections.update(connection["id"], ["apiKey"], {"apiKey": "two"})
    updated = fresh.passway.connections.get(connection["id"], include_creds=True)
    assert updated["apiKey"] == "two"


def test_installations_across_integrations(fresh: Fresh) -> None:
    _, first = fresh.install(tc.APIKEY_BEARER, {"apiKey": "k"}, integration="crm")
    _, second = fresh.install(
        tc.BASIC,
        {"basicAuth": {"username": "u", "password": "p"}},
        integration="files",
        group_ref="customer-9",
    )
    installations = fresh.passway.installations
    assert {i["id"] for i in installations.list()} == {first["id"], second["id"]}
    assert [i["id"] for i in installations.list("crm")] == [first["id"]]
    assert [i["id"] for i in installations.list(group_ref="customer-9")] == [second["id"]]
    assert installations.get("crm", first["id"])["group"]["groupRef"] == "customer-42"

    changed = installations.update(
        "crm",
        first["id"],
        ["config.content.proxy.enabled"],
        {"config": {"content": {"proxy": {"enabled": False}}}},
    )
    assert changed["config"]["content"]["proxy"]["enabled"] is False
    installations.delete("crm", first["id"])
    assert [i["id"] for i in installations.list()] == [second["id"]]


def test_providers_catalog(fresh: Fresh) -> None:
    salesforce = fresh.passway.providers.get("salesforce")
    assert salesforce["authType"] == "oauth2"
    found = fresh.passway.providers.list(auth_type="basic")
    assert found and {p["authType"] for p in found} == {"basic"}
    with pytest.raises(NotFoundError):
        fresh.passway.providers.get("no-such-provider")


def test_provider_apps_and_oauth_connect(fresh: Fresh) -> None:
    apps = fresh.passway.provider_apps
    app = apps.create(
        provider=tc.OAUTH2_BEARER, client_id="cid", client_secret="s3cret", scopes=["read"]
    )
    assert "clientSecret" not in app
    assert [a["id"] for a in apps.list()] == [app["id"]]
    assert apps.update(app["id"], scopes=["read", "write"])["scopes"] == ["read", "write"]
    assert apps.get(app["id"])["clientId"] == "cid"

    url = fresh.passway.oauth_connect(
        provider=tc.OAUTH2_BEARER, group_ref="customer-42", consumer_ref="user-7"
    )
    assert url.startswith(fresh.upstream.url + "/oauth/authorize?")
    assert "client_id=cid" in url

    apps.delete(app["id"])
    assert apps.list() == []


def test_operator_acts_on_a_project_by_name(fresh: Fresh) -> None:
    view = fresh.admin.for_project(fresh.project["name"])
    assert [k["label"] for k in view.api_keys.list()] == ["tests"]
    assert view.project_id() == fresh.project["id"]
    assert fresh.admin.project is None


def test_calls_without_a_project_say_so(served: Served) -> None:
    with Passway(served.url, "pw_whatever") as passway, pytest.raises(ValueError, match="project"):
        passway.connections.list()


def test_operations_when_the_server_has_them(served: Served, fresh: Fresh) -> None:
    if not served.supports("/v1/projects/{projectIdOrName}/operations"):
        pytest.skip("this Passway has no operations API")
    fresh.install(tc.APIKEY_BEARER, {"apiKey": "k"})
    with fresh.passway.proxy(integration="crm", group_ref="customer-42") as crm:
        crm.get("/recorded")
    page = fresh.passway.operations.list(page_size=10)
    assert "operations" in page


def test_destinations_when_the_server_has_them(served: Served, fresh: Fresh) -> None:
    if not served.supports("/v1/projects/{projectIdOrName}/destinations"):
        pytest.skip("this Passway has no destinations API")
    assert isinstance(fresh.passway.destinations.list(), list)


def test_connect_sessions_when_the_server_has_them(served: Served, fresh: Fresh) -> None:
    if not served.supports("/v1/projects/{projectIdOrName}/connect-sessions"):
        pytest.skip("this Passway has no connect sessions")
    session = fresh.passway.connect_sessions.create(
        provider=tc.APIKEY_BEARER, group_ref="customer-42", consumer_ref="user-7"
    )
    assert {"token", "url", "expiresAt"} <= set(session)
