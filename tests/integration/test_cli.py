"""The ``passway`` command line against a real SQLite data directory: from nothing to an
installation, errors as one line with exit code 2, and ``serve`` answering what the CLI wrote."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from passway.cli import main
from support.cli import threaded_oauth_server
from support.oauth_server import (
    CC_PROVIDER,
    CLIENT_ID,
    CLIENT_SECRET,
    OAuthServer,
    oauth_provider_entries,
    write_oauth_catalog,
)
from support.server import ADMIN_KEY, free_port

INTERCOM = "--provider intercom --group-ref g --consumer-ref c"
SRC = str(Path(__file__).resolve().parents[2] / "src")
AMP_YAML = """\
specVersion: 1.0.0
integrations:
  - name: proxy-intercom
    provider: intercom
    proxy:
      enabled: true
  - name: sf
    provider: salesforce
    proxy: {enabled: true}
    read: {objects: []}
"""


class Cli:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.runner = CliRunner()

    def __call__(
        self, *args: str, input: str | None = None, env: dict[str, str] | None = None
    ) -> Result:
        return self.runner.invoke(
            main, ["--data-dir", str(self.data_dir), *args], input=input, env=env
        )

    def json(self, *args: str, input: str | None = None) -> Any:
        result = self(*args, "--json", input=input)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "data")


def test_from_nothing_to_an_installation(cli: Cli, tmp_path: Path) -> None:
    project = cli.json("projects", "create", "Acme", "--app-name", "Acme App")
    assert project["name"] == "acme"
    key = cli.json("api-keys", "create", "--project", "acme", "--label", "ci")
    assert key["key"].startswith("pw_")
    listed_keys = cli("api-keys", "list", "--project", "acme")
    assert key["keyPrefix"] in listed_keys.stdout
    assert key["key"] not in listed_keys.stdout
    amp = tmp_path / "amp.yaml"
    amp.write_text(AMP_YAML)
    deployed = cli("deploy", "--project", "acme", str(amp))
    assert deployed.exit_code == 0, deployed.output
    assert "proxy-intercom" in deployed.stdout
    assert "not run" in deployed.stderr
    integrations = cli.json("integrations", "list", "--project", project["id"])
    assert sorted(i["name"] for i in integrations) == ["proxy-intercom", "sf"]
    connection = cli.json(
        "connections", "import", "--project", "acme", "--provider", "intercom",
        "--group-ref", "g1", "--consumer-ref", "c1",
        "--access-token", "-", "--expires-in", "3600", "--scope", "read",
        input="sekret-token\n",
    )  # fmt: skip
    assert connection["authScheme"] == "oauth2/authorizationCode"
    assert "sekret" not in json.dumps(connection)
    installation = cli.json(
        "installations", "create", "--project", "acme", "--integration", "proxy-intercom",
        "--group-ref", "g1",
    )  # fmt: skip
    assert installation["connection"]["id"] == connection["id"]
    assert installation["config"] == {"content": {"proxy": {"enabled": True}}}
    table = cli("installations", "list", "--project", "acme", "--integration", "proxy-intercom")
    assert installation["id"] in table.stdout
    connections = cli("connections", "list", "--project", "acme", "--provider", "intercom")
    assert connection["id"] in connections.stdout


def test_secrets_can_come_from_the_environment(cli: Cli) -> None:
    cli.json("projects", "create", "envy")
    result = cli(
        "connections", "import", "--project", "envy", "--provider", "amplitude",
        "--group-ref", "g", "--consumer-ref", "c", "--username", "u", "--password", "env:PW_TEST",
        "--json",
        env={"PW_TEST": "from-env"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["authScheme"] == "basic"
    missing = cli(
        "connections", "import", "--project", "envy", "--provider", "amplitude",
        "--group-ref", "g", "--consumer-ref", "c", "--username", "u", "--password", "env:NOPE_X",
    )  # fmt: skip
    assert missing.exit_code == 2
    assert "NOPE_X" in missing.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ("projects create x", "name"),
        ("api-keys list --project nobody", "not found"),
        ("providers nope", "not in the catalog"),
        (f"connections import --project p1 {INTERCOM} --api-key k", "--access-token"),
        (f"connections import --project p1 {INTERCOM} --metadata novalue", "key=value"),
        ("installations create --project p1 --integration none --group-ref g", "not found"),
        ("projects create", "NAME"),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_code_2(cli: Cli, args: str, needle: str) -> None:
    cli.json("projects", "create", "p1")
    result = cli(*args.split())
    assert result.exit_code == 2, result.output
    assert needle in result.stderr
    assert "Traceback" not in result.output


def test_an_invalid_amp_yaml_names_each_field(cli: Cli, tmp_path: Path) -> None:
    cli.json("projects", "create", "p2")
    amp = tmp_path / "bad.yaml"
    amp.write_text("specVersion: 2\nintegrations:\n  - {name: a, provider: nope, proxy: {}}\n")
    result = cli("deploy", "--project", "p2", str(amp))
    assert result.exit_code == 2
    assert "specVersion" in result.stderr
    assert "integrations[0].provider" in result.stderr


def test_providers_lists_and_filters_the_catalog(cli: Cli) -> None:
    basic = cli.json("providers", "--auth-type", "basic")
    assert basic
    assert {p["authType"] for p in basic} == {"basic"}
    found = cli("providers", "--search", "sales")
    assert "salesforce" in found.stdout
    one = cli("providers", "salesforce")
    assert json.loads(one.stdout)["name"] == "salesforce"
    by_source_key = cli("providers", "google-calendar")  # an alias of a curated provider
    assert json.loads(by_source_key.stdout)["name"] == "google"
    converted = cli("providers", "bamboohr-basic")
    assert json.loads(converted.stdout)["labels"]["sourceKey"] == "bamboohr-basic"


def test_serve_answers_what_the_cli_wrote(cli: Cli) -> None:
    """``python -m passway serve`` on the same data directory sees projects made by the CLI."""
    cli.json("projects", "create", "served")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASSWAY_")}
    env.update(PYTHONPATH=SRC, PASSWAY_ADMIN_API_KEY=ADMIN_KEY, PASSWAY_LOG_LEVEL="warning")
    command = [sys.executable, "-m", "passway", "--data-dir", str(cli.data_dir), "serve",
               "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"{url}/v1/projects/served", headers={"X-Api-Key": ADMIN_KEY})
                break
            except httpx.TransportError:
                assert process.poll() is None, "server exited"
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        assert response.status_code == 200
        assert response.json()["name"] == "served"
    finally:
        process.terminate()
        _, err = process.communicate(timeout=15)
    assert f"http://127.0.0.1:{port}" in err.decode()


def test_serve_with_a_proxy_port_names_it_and_answers_there(cli: Cli) -> None:
    """``passway serve --proxy-port N`` prints the proxy listener's URL in its start-up line, and
    the listener answers on that port."""
    port = free_port()
    proxy_port = free_port()
    while proxy_port == port:
        proxy_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASSWAY_")}
    env.update(PYTHONPATH=SRC, PASSWAY_ADMIN_API_KEY=ADMIN_KEY, PASSWAY_LOG_LEVEL="warning")
    command = [sys.executable, "-m", "passway", "--data-dir", str(cli.data_dir), "serve",
               "--host", "127.0.0.1", "--port", str(port),
               "--proxy-port", str(proxy_port)]  # fmt: skip
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{proxy_port}/healthz")
                break
            except httpx.TransportError:
                assert process.poll() is None, "server exited"
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        refused = httpx.get(f"http://127.0.0.1:{proxy_port}/v1/projects")
        assert refused.headers["x-passway-error"] == "unsupported_proxy_version"
    finally:
        process.terminate()
        _, err = process.communicate(timeout=15)
    assert f"proxy calls also on http://127.0.0.1:{proxy_port}" in err.decode()


def test_serve_with_an_admin_port_keeps_the_management_api_off_the_main_port(cli: Cli) -> None:
    """``passway serve --admin-port N`` with two workers: the management API answers on the admin
    port; the main port answers /healthz and refuses management requests as proxy calls lacking
    their headers; the start-up line names both ports; SIGTERM stops every worker."""
    port = free_port()
    admin_port = free_port()
    while admin_port == port:
        admin_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PASSWAY_")}
    env.update(PYTHONPATH=SRC, PASSWAY_ADMIN_API_KEY=ADMIN_KEY, PASSWAY_LOG_LEVEL="warning")
    command = [sys.executable, "-m", "passway", "--data-dir", str(cli.data_dir), "serve",
               "--host", "127.0.0.1", "--port", str(port), "--workers", "2",
               "--admin-port", str(admin_port)]  # fmt: skip
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, start_new_session=True)
    admin = f"http://127.0.0.1:{admin_port}"
    main = f"http://127.0.0.1:{port}"
    printed: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                listing = httpx.get(f"{admin}/v1/projects", headers={"X-Api-Key": ADMIN_KEY})
                health = httpx.get(f"{main}/healthz")
                break
            except httpx.TransportError:
                assert process.poll() is None, "server exited"
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        assert listing.status_code == 200
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        refused = httpx.get(f"{main}/v1/projects", headers={"X-Api-Key": ADMIN_KEY})
        assert refused.headers["x-passway-error"] == "unsupported_proxy_version"
        # One worker may answer before the other is ready; the start-up line waits for both.
        assert process.stderr is not None
        fd = process.stderr.fileno()
        while "Passway serving" not in "".join(printed):
            assert time.monotonic() < deadline, "never announced: " + "".join(printed)
            readable, _, _ = select.select([fd], [], [], 0.5)
            if readable:
                printed.append(os.read(fd, 65536).decode())
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0
    said = "".join(printed) + err.decode()
    assert f"proxy calls on {main}" in said
    assert f"API docs (/docs) on {admin}" in said


@pytest.fixture
def oauth_server() -> Iterator[OAuthServer]:
    """The loopback OAuth server on its own event loop in a thread (the CLI runs its own loops)."""
    with threaded_oauth_server() as server:
        yield server


def test_import_runs_the_client_credentials_grant_and_a_wrong_secret_stores_nothing(
    cli: Cli, tmp_path: Path, oauth_server: OAuthServer
) -> None:
    env = {
        "PASSWAY_CATALOG_FILE": str(write_oauth_catalog(tmp_path, oauth_server.url)),
        "PASSWAY_EGRESS_ALLOW": "127.0.0.1",
    }
    cli.json("projects", "create", "machines")
    flags = ["--project", "machines", "--provider", CC_PROVIDER, "--group-ref", "g"]
    flags += ["--consumer-ref", "c", "--client-id", CLIENT_ID, "--scope", "read"]

    refused = cli("connections", "import", *flags, "--client-secret", "wrong", env=env)
    assert refused.exit_code == 2, refused.output
    assert refused.stderr.startswith("error: ") and "wrong" not in refused.output
    listed = cli("connections", "list", "--project", "machines", "--json", env=env)
    assert json.loads(listed.stdout) == []
    calls_before = oauth_server.counters["client_credentials"]
    assert calls_before >= 1  # the provider was asked, and refused

    created = cli(
        "connections", "import", *flags, "--client-secret", "-", "--json",
        input=CLIENT_SECRET + "\n", env=env,
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    connection = json.loads(created.stdout)
    assert connection["authScheme"] == "oauth2/clientCredentials"
    assert connection["status"] == "working"
    assert CLIENT_SECRET not in created.stdout
    assert oauth_server.counters["client_credentials"] == calls_before + 1
    assert len(oauth_server.access_tokens) == 1  # the stored connection holds the issued token


def test_client_secret_without_client_id_is_refused(cli: Cli) -> None:
    cli.json("projects", "create", "half")
    result = cli(
        "connections", "import", "--project", "half", "--provider", CC_PROVIDER,
        "--group-ref", "g", "--consumer-ref", "c", "--client-secret", "s",
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--client-secret needs --client-id" in result.stderr


def test_import_with_username_and_client_id_runs_the_password_grant(
    cli: Cli, tmp_path: Path, oauth_server: OAuthServer
) -> None:
    entry = next(e for e in oauth_provider_entries(oauth_server.url) if e["name"] == CC_PROVIDER)
    name = "oauth-test-password"
    entry.update(name=name, displayName=name, grantType="password")
    catalog = tmp_path / "password-catalog.json"
    catalog.write_text(json.dumps({"providers": [entry]}))
    env = {"PASSWAY_CATALOG_FILE": str(catalog), "PASSWAY_EGRESS_ALLOW": "127.0.0.1"}
    cli.json("projects", "create", "people")
    connection = cli(
        "connections", "import", "--project", "people", "--provider", name,
        "--group-ref", "g", "--consumer-ref", "c", "--client-id", CLIENT_ID,
        "--client-secret", CLIENT_SECRET, "--username", "alice", "--password", "env:PW_GRANT",
        "--json", env={**env, "PW_GRANT": "wonderland"},
    )  # fmt: skip
    assert connection.exit_code == 0, connection.output
    assert json.loads(connection.stdout)["authScheme"] == "oauth2/password"
    assert oauth_server.counters["password"] == 1
    assert "wonderland" not in connection.stdout


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_refuses_a_port_another_process_listens_on(cli: Cli, workers: str) -> None:
    """A port someone else listens on, even with SO_REUSEPORT (as a second Passway would): serve
    stops with an error instead of sharing it and splitting its connections."""
    import socket

    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PASSWAY_")}
        env.update(PYTHONPATH=SRC, PASSWAY_LOG_LEVEL="warning")
        command = [sys.executable, "-m", "passway", "--data-dir", str(cli.data_dir), "serve",
                   "--host", "127.0.0.1", "--port", str(port), "--workers", workers]  # fmt: skip
        finished = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert finished.returncode != 0
    assert "in use" in finished.stderr.lower()
