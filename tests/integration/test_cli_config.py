"""``passway config`` (settings in force, masked, with their source), ``passway doctor`` (what a
first run needs, and what to fix), and ``passway serve`` refusing bad settings in one line and
saying "listening" only once it is."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from passway.cli.server import serve
from passway.cli.settings_options import SETTINGS
from passway.settings import Settings
from support.cli import Cli, passway_command, subprocess_env
from support.server import free_port


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "data")


def _config(cli: Cli, *args: str, env: dict[str, str] | None = None) -> dict[str, dict[str, str]]:
    result = cli("config", "--json", *args, env=env)
    assert result.exit_code == 0, result.output
    return {row["variable"]: row for row in json.loads(result.stdout)}


def test_every_setting_has_a_flag_unless_secret() -> None:
    fields = getattr(Settings, "model_fields", None) or Settings.__dataclass_fields__
    assert {spec.name for spec in SETTINGS} == set(fields)
    secrets = {spec.name for spec in SETTINGS if spec.secret}
    assert {"admin_api_key", "encryption_keys"} <= secrets
    flags = {option for param in serve.params for option in param.opts}
    for spec in SETTINGS:
        assert (spec.flag in flags) != spec.secret, spec.name


def test_a_setting_missing_from_the_table_gets_a_flag_of_its_kind() -> None:
    from passway.cli import settings_options as so

    assert so._kind("int | None") == "optional-int"
    assert so._kind("tuple[str, ...]") == "list"
    assert so._kind("pathlib.Path | None") == "path"
    assert so._kind("<class 'float'>") == "float"
    assert so._kind("bool") == "bool"
    assert so._kind("str") == "str"


def test_config_says_where_each_setting_came_from(cli: Cli, tmp_path: Path) -> None:
    rows = _config(
        cli, "--read-timeout", "5", "--egress-allow", "10.0.0.0/8, crm.corp",
        env={"PASSWAY_REFRESH_MARGIN": "30"},
    )  # fmt: skip
    assert (rows["PASSWAY_READ_TIMEOUT"]["value"], rows["PASSWAY_READ_TIMEOUT"]["source"]) == (
        "5.0",
        "flag",
    )
    assert rows["PASSWAY_EGRESS_ALLOW"]["value"] == "10.0.0.0/8,crm.corp"
    assert rows["PASSWAY_REFRESH_MARGIN"]["source"] == "env"
    assert rows["PASSWAY_DATA_DIR"]["source"] == "flag"  # the group's --data-dir
    assert rows["PASSWAY_PORT"] == {
        "name": "port", "variable": "PASSWAY_PORT", "value": "8080", "source": "default",
    }  # fmt: skip
    table = cli("config", env={"PASSWAY_REFRESH_MARGIN": "30"}).stdout
    assert "env PASSWAY_REFRESH_MARGIN" in table and "flag --data-dir" in table


def test_config_masks_secrets(cli: Cli) -> None:
    env = {
        "PASSWAY_ADMIN_API_KEY": "super-secret-admin-key",
        "PASSWAY_ENCRYPTION_KEYS": "k1:" + "A" * 43 + "=",
        "PASSWAY_DATABASE_URL": "postgresql://app:hunter2@db.internal:5432/passway",
        "PASSWAY_REDIS_URL": "redis://:redispass@127.0.0.1:6379/0",
    }
    result = cli("config", env=env)
    assert result.exit_code == 0, result.output
    for secret in ("super-secret-admin-key", "A" * 43, "hunter2", "redispass"):
        assert secret not in result.output
    rows = _config(cli, env=env)
    assert rows["PASSWAY_DATABASE_URL"]["value"] == "postgresql://app:****@db.internal:5432/passway"
    assert rows["PASSWAY_ADMIN_API_KEY"]["value"] == "********"
    assert "1 key" in rows["PASSWAY_ENCRYPTION_KEYS"]["value"]


def test_config_refuses_a_bad_value_in_one_line(cli: Cli) -> None:
    result = cli("config", env={"PASSWAY_PORT": "abc"})
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: PASSWAY_PORT: cannot read 'abc' as int"


def _doctor(cli: Cli, env: dict[str, str] | None = None) -> tuple[int, dict[str, str]]:
    result = cli("doctor", env=env)
    lines: dict[str, str] = {}
    subject = ""
    for line in result.stdout.splitlines():
        if line.startswith(" "):
            lines[subject] += "\n" + line.strip()
            continue
        _status, subject, _ = line.split(None, 2)
        lines[subject] = line if subject not in lines else lines[subject] + "\n" + line
    return result.exit_code, lines


def test_doctor_on_a_fresh_directory_warns_then_passes_after_migrate(cli: Cli) -> None:
    code, lines = _doctor(cli)
    assert code == 0
    assert lines["database"].startswith("warn") and "passway migrate" in lines["database"]
    assert lines["keys"].startswith("warn") and "generated on first start" in lines["keys"]
    assert lines["catalog"].startswith("ok")
    assert "redis" not in lines
    assert not cli.data_dir.exists(), "doctor must not create anything"

    cli.ok("migrate")
    cli.ok("projects", "create", "acme")  # creates the key file too
    code, lines = _doctor(cli)
    assert code == 0
    assert lines["database"].startswith("ok") and "newest" in lines["database"]
    assert lines["keys"].startswith("ok")


def test_doctor_names_each_problem_and_its_fix(cli: Cli, tmp_path: Path) -> None:
    cli.ok("projects", "create", "acme")
    (cli.data_dir / "encryption.keys").chmod(0o644)
    catalog = tmp_path / "catalog.json"
    catalog.write_text(
        json.dumps(
            {
                "providers": [
                    {
                        "name": "intranet",
                        "displayName": "Intranet",
                        "authType": "apiKey",
                        "baseURL": "http://10.20.0.5:8000/api",
                        "apiKeyAttachment": "header",
                        "apiKeyHeaderName": "X-Key",
                        "support": {"proxy": True},
                    }
                ]
            }
        )
    )
    closed = free_port()
    env = {
        "PASSWAY_CATALOG_FILE": str(catalog),
        "PASSWAY_REDIS_URL": f"redis://127.0.0.1:{closed}/0",
    }
    code, lines = _doctor(cli, env)
    assert code == 1
    assert lines["keys"].startswith("FAIL") and "fix: chmod 600" in lines["keys"]
    assert lines["egress"].startswith("FAIL")
    assert "PASSWAY_EGRESS_ALLOW=10.20.0.5" in lines["egress"]
    assert lines["redis"].startswith("FAIL") and "not reachable" in lines["redis"]

    (cli.data_dir / "encryption.keys").chmod(0o600)
    code, lines = _doctor(cli, {"PASSWAY_CATALOG_FILE": str(catalog),
                                "PASSWAY_EGRESS_ALLOW": "10.20.0.0/16"})  # fmt: skip
    assert code == 0 and lines["egress"].startswith("ok")

    catalog.write_text('{"providers": [{"name": "broken"}]}')
    code, lines = _doctor(cli, {"PASSWAY_CATALOG_FILE": str(catalog)})
    assert code == 1
    assert lines["catalog"].startswith("FAIL") and "provider 'broken'" in lines["catalog"]


def test_doctor_reports_an_unreachable_database(cli: Cli) -> None:
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/none"
    code, lines = _doctor(cli, {"PASSWAY_DATABASE_URL": url})
    assert code == 1
    assert lines["database"].startswith("FAIL") and "not reachable" in lines["database"]
    assert "PASSWAY_DATABASE_URL" in lines["database"]


def test_doctor_reports_an_unmigrated_database(cli: Cli, tmp_path: Path) -> None:
    cli.data_dir.mkdir()
    (cli.data_dir / "passway.db").write_bytes(b"")
    code, lines = _doctor(cli)
    assert code == 1
    assert "never migrated" in lines["database"] and "passway migrate" in lines["database"]


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("PASSWAY_LOG_LEVEL", "verbose", "'verbose' is not one of critical, error, warning"),
        ("PASSWAY_PORT", "abc", "PASSWAY_PORT: cannot read 'abc' as int"),
        ("PASSWAY_WORKERS", "0", "PASSWAY_WORKERS must be at least 1"),
        ("PASSWAY_CATALOG_FILE", "/nonexistent/catalog.json", "catalog file"),
    ],
)
def test_serve_refuses_a_bad_setting_in_one_line(
    tmp_path: Path, variable: str, value: str, message: str
) -> None:
    env = subprocess_env(**{variable: value})
    done = subprocess.run(
        passway_command("--data-dir", str(tmp_path), "serve", "--port", str(free_port())),
        env=env,
        capture_output=True,
        timeout=60,
    )
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert err.startswith("error: ") and message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err and "Passway listening" not in err


def test_serve_says_listening_once_bound_and_not_on_a_busy_port(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            passway_command("--data-dir", str(tmp_path), "serve", "--port", str(port)),
            env=subprocess_env(),
            capture_output=True,
            timeout=60,
        )
    err = done.stderr.decode()
    assert done.returncode != 0
    assert "address already in use" in err and "Passway listening" not in err

    port = free_port()
    process = subprocess.Popen(
        passway_command("--data-dir", str(tmp_path), "serve", "--port", str(port),
                        "--log-level", "warning", "--read-timeout", "7"),
        env=subprocess_env(), stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        line = process.stderr.readline().decode()  # the first thing printed at this log level
        assert line.startswith(f"Passway listening on http://127.0.0.1:{port}")
        # By the time it is printed, the port answers.
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    finally:
        process.terminate()
        process.communicate(timeout=20)


def test_serve_flags_reach_the_worker_processes(tmp_path: Path) -> None:
    """Workers read their settings from the environment: flags must travel there."""
    port = free_port()
    catalog = tmp_path / "empty.json"
    catalog.write_text('{"providers": [{"name": "only-here", "displayName": "Only here", '
                       '"authType": "basic", "baseURL": "https://example.com", '
                       '"support": {"proxy": true}}]}')  # fmt: skip
    process = subprocess.Popen(
        passway_command("--data-dir", str(tmp_path), "serve", "--port", str(port),
                        "--workers", "2", "--log-level", "warning",
                        "--catalog-file", str(catalog)),
        env=subprocess_env(), stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/v1/providers/only-here")
                break
            except httpx.TransportError:
                assert process.poll() is None, "server exited"
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert answer.status_code == 200 and answer.json()["displayName"] == "Only here"
        # One worker may answer before the other is ready; the announcement waits for both.
        printed: list[str] = []
        assert process.stderr is not None
        fd = process.stderr.fileno()
        while "Passway listening" not in "".join(printed):
            assert time.monotonic() < deadline, "never announced: " + "".join(printed)
            readable, _, _ = select.select([fd], [], [], 0.5)
            if readable:
                printed.append(os.read(fd, 65536).decode())
    finally:
        process.terminate()
        _, err = process.communicate(timeout=20)
    assert ("".join(printed) + err.decode()).count("Passway listening") == 1


@pytest.mark.postgres
async def test_doctor_on_postgresql_before_and_after_migrate(tmp_path: Path) -> None:
    """Async so that the fresh database can be made and dropped; the CLI runs in a subprocess."""
    import asyncio

    from support.databases import fresh_postgres_database, requires_postgres

    requires_postgres()
    async with fresh_postgres_database() as url:
        env = subprocess_env(PASSWAY_DATABASE_URL=url)

        async def run(*args: str) -> tuple[int, str]:
            process = await asyncio.create_subprocess_exec(
                *passway_command("--data-dir", str(tmp_path), *args),
                env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            out, _ = await process.communicate()
            return process.returncode or 0, out.decode()

        code, out = await run("doctor")
        assert code == 1 and "never migrated" in out
        assert (await run("migrate"))[0] == 0
        code, out = await run("doctor")
        database = next(line for line in out.splitlines() if " database " in line)
        assert database.startswith("ok") and "newest" in database


@pytest.mark.redis
def test_doctor_reaches_redis_when_set(cli: Cli) -> None:
    url = os.environ.get("PASSWAY_TEST_REDIS_URL")
    if not url:
        pytest.skip("set PASSWAY_TEST_REDIS_URL to run")
    _, lines = _doctor(cli, {"PASSWAY_REDIS_URL": url})
    assert lines["redis"].startswith("ok") and "reachable" in lines["redis"]
