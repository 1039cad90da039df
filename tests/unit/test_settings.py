"""Settings are read once from PASSWAY_* variables; bad values stop start-up, clearly named."""

from __future__ import annotations

from pathlib import Path

import pytest

from passway.errors import ConfigurationError
from passway.settings import Settings, load_settings


def test_defaults_need_no_environment() -> None:
    settings = load_settings({"HOME": "/home/op"})
    assert (settings.host, settings.port, settings.workers) == ("127.0.0.1", 8080, 1)
    assert settings.resolved_database_url.startswith("sqlite+aiosqlite:///")
    assert settings.resolved_database_url.endswith("/home/op/.local/share/passway/passway.db")
    assert settings.resolved_key_file == Path("/home/op/.local/share/passway/encryption.keys")


def test_the_data_directory_is_absolute_and_the_same_from_any_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default follows XDG_DATA_HOME (else ~/.local/share); a relative PASSWAY_DATA_DIR
    names the directory it means when read, made absolute once."""
    assert load_settings({"XDG_DATA_HOME": "/data/xdg"}).data_dir == Path("/data/xdg/passway")
    seen = set()
    for cwd in (tmp_path, tmp_path.parent):
        monkeypatch.chdir(cwd)
        seen.add(load_settings({"HOME": "/home/op"}).data_dir)
    assert seen == {Path("/home/op/.local/share/passway")}
    monkeypatch.chdir(tmp_path)
    assert load_settings({"PASSWAY_DATA_DIR": "rel"}).data_dir == tmp_path / "rel"


def test_every_type_is_read_from_its_variable() -> None:
    settings = load_settings(
        {
            "PASSWAY_PORT": "9000",
            "PASSWAY_WORKERS": "3",
            "PASSWAY_READ_TIMEOUT": "2.5",
            "PASSWAY_ACCESS_LOG": "yes",
            "PASSWAY_EGRESS_ALLOW": "10.0.0.0/8, crm.corp.example,",
            "PASSWAY_CATALOG_FILE": "/etc/passway/catalog.json",
            "PASSWAY_DATA_DIR": "/var/lib/passway",
            "UNRELATED": "ignored",
        }
    )
    assert settings.port == 9000 and settings.workers == 3 and settings.read_timeout == 2.5
    assert settings.access_log is True
    assert settings.egress_allow == ("10.0.0.0/8", "crm.corp.example")
    assert settings.catalog_file == Path("/etc/passway/catalog.json")
    assert settings.resolved_key_file == Path("/var/lib/passway/encryption.keys")


def test_flags_override_the_environment_and_none_means_not_given() -> None:
    settings = load_settings({"PASSWAY_PORT": "9000"}, port=9100, workers=None)
    assert settings.port == 9100 and settings.workers == 1


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u@db:5432/p", "postgresql+asyncpg://u@db:5432/p"),
        ("postgres://u@db/p", "postgresql+asyncpg://u@db/p"),
        ("sqlite:////tmp/x.db", "sqlite+aiosqlite:////tmp/x.db"),
        ("postgresql+asyncpg://u@db/p", "postgresql+asyncpg://u@db/p"),
    ],
)
def test_database_urls_map_to_the_async_drivers(url: str, expected: str) -> None:
    assert Settings(database_url=url).resolved_database_url == expected


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"PASSWAY_PORT": "eighty"}, "PASSWAY_PORT"),
        ({"PASSWAY_PORT": "70000"}, "PASSWAY_PORT"),
        ({"PASSWAY_WORKERS": "0"}, "PASSWAY_WORKERS"),
        ({"PASSWAY_ACCESS_LOG": "maybe"}, "PASSWAY_ACCESS_LOG"),
        ({"PASSWAY_CONNECT_TIMEOUT": "-1"}, "PASSWAY_CONNECT_TIMEOUT"),
        ({"PASSWAY_EGRESS_ALLOW": "10.0.0.0/33"}, "PASSWAY_EGRESS_ALLOW"),
    ],
)
def test_a_bad_value_is_refused_naming_its_variable(environ: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(environ)
    assert named in str(caught.value)


@pytest.mark.parametrize(("raw", "expected"), [("", None), ("  ", None), ("9000", 9000), ("0", 0)])
def test_proxy_port_is_read_from_its_variable_empty_meaning_off(
    raw: str, expected: int | None
) -> None:
    assert load_settings({"PASSWAY_PROXY_PORT": raw}).proxy_port == expected


def test_proxy_port_is_off_by_default_and_settable_by_flag() -> None:
    assert load_settings({}).proxy_port is None
    assert load_settings({"PASSWAY_PROXY_PORT": "9000"}, proxy_port=9001).proxy_port == 9001


@pytest.mark.parametrize(
    "environ",
    [
        {"PASSWAY_PROXY_PORT": "8080"},
        {"PASSWAY_PORT": "9000", "PASSWAY_PROXY_PORT": "9000"},
        {"PASSWAY_PROXY_PORT": "65536"},
        {"PASSWAY_PROXY_PORT": "-1"},
        {"PASSWAY_PROXY_PORT": "nine"},
    ],
)
def test_a_proxy_port_equal_to_the_port_or_out_of_range_is_refused(
    environ: dict[str, str],
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(environ)
    assert "PASSWAY_PROXY_PORT" in str(caught.value)
