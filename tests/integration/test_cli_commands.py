"""The ``passway`` CLI's management commands on a real SQLite data directory: ``--version``,
deleting connections and installations, revoking keys, refreshing a token against a real loopback
token endpoint, listing every installation, and errors that name the flag to use."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest

from support.cli import Cli, threaded_oauth_server
from support.oauth_server import (
    CC_PROVIDER,
    CLIENT_ID,
    CLIENT_SECRET,
    OAuthServer,
    write_oauth_catalog,
)

AMP_YAML = """\
specVersion: 1.0.0
integrations:
  - name: crm
    provider: intercom
    proxy: {enabled: true}
  - name: files
    provider: amplitude
    proxy: {enabled: true}
"""


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "data")


@pytest.fixture
def acme(cli: Cli, tmp_path: Path) -> Cli:
    """A project ``acme`` with the integrations ``crm`` (intercom) and ``files`` (amplitude)."""
    cli.json("projects", "create", "acme")
    amp = tmp_path / "amp.yaml"
    amp.write_text(AMP_YAML)
    cli.ok("deploy", "-p", "acme", str(amp))
    return cli


def _connect(cli: Cli, group: str) -> tuple[str, str]:
    """An amplitude (basic) connection for ``group`` and its ``files`` installation."""
    connection = cli.json(
        "connections", "import", "-p", "acme", "--provider", "amplitude", "--group-ref", group,
        "--consumer-ref", "c", "--username", "u", "--password", "p",
    )  # fmt: skip
    installation = cli.json(
        "installations", "create", "-p", "acme", "--integration", "files", "--group-ref", group
    )
    return connection["id"], installation["id"]


def test_version_is_the_installed_package_version(cli: Cli) -> None:
    result = cli.ok("--version")
    assert result.stdout.strip() == f"passway, version {version('passway')}"


def test_installations_list_without_integration_shows_every_integration(acme: Cli) -> None:
    _, files_install = _connect(acme, "g1")
    acme.ok(
        "connections", "import", "-p", "acme", "--provider", "intercom", "--group-ref", "g2",
        "--consumer-ref", "c", "--access-token", "t",
    )  # fmt: skip
    crm_install = acme.json("installations", "create", "-p", "acme", "--integration", "crm",
                            "--group-ref", "g2")["id"]  # fmt: skip
    listed = acme.json("installations", "list", "-p", "acme")
    assert {i["id"] for i in listed} == {files_install, crm_install}
    table = acme.ok("installations", "list", "-p", "acme").stdout
    assert "INTEGRATION" in table and "crm" in table and "files" in table
    only_g2 = acme.json("installations", "list", "-p", "acme", "--group-ref", "g2")
    assert [i["id"] for i in only_g2] == [crm_install]
    assert acme.json("installations", "list", "-p", "acme", "--integration", "crm")[0]["id"] == (
        crm_install
    )


def test_delete_an_installation_then_its_connection(acme: Cli) -> None:
    connection_id, installation_id = _connect(acme, "g1")
    refused = acme("connections", "delete", "-p", "acme", connection_id)
    assert refused.exit_code == 2
    assert "installation" in refused.stderr and "Traceback" not in refused.output

    deleted = acme.ok("installations", "delete", "-p", "acme", installation_id)
    assert installation_id in deleted.stdout
    assert acme.json("installations", "list", "-p", "acme") == []
    acme.ok("connections", "delete", "-p", "acme", connection_id)
    assert acme.json("connections", "list", "-p", "acme") == []
    gone = acme("connections", "get", "-p", "acme", connection_id)
    assert gone.exit_code == 2 and "not found" in gone.stderr


def test_delete_an_installation_named_with_its_integration(acme: Cli) -> None:
    _, installation_id = _connect(acme, "g1")
    wrong = acme("installations", "delete", "-p", "acme", installation_id, "--integration", "crm")
    assert wrong.exit_code == 2 and "not found" in wrong.stderr
    acme.ok("installations", "delete", "-p", "acme", installation_id, "--integration", "files")
    missing = acme("installations", "delete", "-p", "acme", installation_id)
    assert missing.exit_code == 2 and "not found" in missing.stderr


def test_revoke_an_api_key(acme: Cli) -> None:
    key = acme.json("api-keys", "create", "-p", "acme", "--label", "ci")
    acme.ok("api-keys", "revoke", "-p", "acme", key["id"])
    assert acme.json("api-keys", "list", "-p", "acme") == []


@pytest.fixture
def oauth_server() -> Iterator[OAuthServer]:
    with threaded_oauth_server() as server:
        yield server


def test_connections_refresh_asks_the_token_endpoint_again(
    cli: Cli, tmp_path: Path, oauth_server: OAuthServer
) -> None:
    cli.env.update(
        PASSWAY_CATALOG_FILE=str(write_oauth_catalog(tmp_path, oauth_server.url)),
        PASSWAY_EGRESS_ALLOW="127.0.0.1",
    )
    cli.json("projects", "create", "machines")
    connection = cli.json(
        "connections", "import", "-p", "machines", "--provider", CC_PROVIDER, "--group-ref", "g",
        "--consumer-ref", "c", "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET,
    )  # fmt: skip
    before = oauth_server.counters["client_credentials"]
    refreshed = cli.ok("connections", "refresh", connection["id"])  # the id names its project
    assert connection["id"] in refreshed.stdout
    assert "valid until" in refreshed.stderr
    assert oauth_server.counters["client_credentials"] == before + 1
    assert len(oauth_server.access_tokens) == 2


def test_refreshing_a_connection_without_tokens_is_one_line(acme: Cli) -> None:
    connection_id, _ = _connect(acme, "g1")
    result = acme("connections", "refresh", "-p", "acme", connection_id)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: Only OAuth connections")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            "--provider intercom --api-key k",
            "--api-key: provider intercom takes --access-token",
        ),
        ("--provider amplitude --api-key k", "takes --username/--password, not --api-key"),
        ("--provider amplitude --username u", "--password: required"),
        ("--provider intercom", "--access-token"),
    ],
)
def test_errors_name_the_flag_to_use(acme: Cli, args: str, expected: str) -> None:
    base = ["connections", "import", "-p", "acme", "--group-ref", "g", "--consumer-ref", "c"]
    result = acme(*base, *args.split())
    assert result.exit_code == 2, result.output
    assert expected in result.stderr
    for api_name in ("apiKey", "basicAuth", "oauth2AuthorizationCode"):
        assert api_name not in result.stderr


def test_json_output_of_new_commands_is_json(acme: Cli) -> None:
    connection_id, _ = _connect(acme, "g1")
    shown = acme.json("connections", "get", "-p", "acme", connection_id)
    assert shown["id"] == connection_id and "basicAuth" not in shown
    assert acme.json("connections", "get", connection_id) == shown
    unknown = acme("connections", "get", "00000000-0000-0000-0000-000000000000")
    assert unknown.exit_code == 2 and "not found" in unknown.stderr
    assert json.dumps(shown)
