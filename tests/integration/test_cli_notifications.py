"""The notification commands: destinations and routes on the database, a CLI import producing its
``connection.created`` in the outbox (a running server delivers it), deliveries listed and
redelivered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from passway.cli import main


class Cli:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None) -> Result:
        return self.runner.invoke(main, ["--data-dir", str(self.data_dir), *args], input=input)

    def json(self, *args: str, input: str | None = None) -> Any:
        result = self(*args, "--json", input=input)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "data")


def test_destinations_routes_and_deliveries_from_the_command_line(cli: Cli) -> None:
    cli.json("projects", "create", "acme")
    made = cli(
        "destinations", "create", "--project", "acme", "--name", "ops",
        "--url", "https://hooks.example.com/p", "--header", "X-Team: ops",
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert "signing key (shown once): whsec_" in made.stdout
    listed = cli.json("destinations", "list", "--project", "acme")
    assert listed[0]["metadata"] == {
        "url": "https://hooks.example.com/p",
        "headers": {"X-Team": "ops"},
    }
    assert "whsec_" not in json.dumps(listed)
    rotated = cli.json("destinations", "rotate-secret", "--project", "acme", "ops")
    assert rotated["secrets"]["webhookSigningKey"].startswith("whsec_")
    route = cli.json(
        "notification-routes", "create", "--project", "acme",
        "--event-type", "connection.created", "--destination", "ops",
    )  # fmt: skip
    assert route["eventType"] == "connection.created"
    connection = cli.json(
        "connections", "import", "--project", "acme", "--provider", "intercom",
        "--group-ref", "g1", "--consumer-ref", "c1", "--access-token", "-",
        input="sekret-token\n",
    )  # fmt: skip
    events = cli.json("notifications", "list", "--project", "acme")
    assert [e["notificationType"] for e in events] == ["connection.created"]
    assert events[0]["data"]["connectionId"] == connection["id"]
    assert "sekret" not in json.dumps(events)
    [delivery] = cli.json("notifications", "deliveries", "--project", "acme")
    assert delivery["status"] == "pending" and delivery["attempts"] == 0
    again = cli.json("notifications", "redeliver", "--project", "acme", delivery["id"])
    assert again["id"] == delivery["id"] and again["status"] == "pending"
    disabled = cli.json("destinations", "enable", "--project", "acme", "ops", "--off")
    assert disabled["enabled"] is False
    refused = cli("notification-routes", "create", "--project", "acme",
                  "--event-type", "connection.created", "--destination", "nope")  # fmt: skip
    assert refused.exit_code != 0 and "not found" in refused.output
    assert cli("destinations", "delete", "--project", "acme", "ops").exit_code == 0
    assert cli.json("notification-routes", "list", "--project", "acme") == []
