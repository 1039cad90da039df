"""amp.yaml validation: every rule names the field it broke, and all problems come back at once."""

from __future__ import annotations

import pytest

from passway.catalog import Catalog, parse_provider
from passway.core.ampyaml import parse_amp_yaml
from passway.errors import InvalidAmpYaml


def _entry(name: str, **fields: object) -> dict[str, object]:
    entry: dict[str, object] = {
        "name": name,
        "displayName": name,
        "authType": "apiKey",
        "baseURL": f"https://{name}.example.com",
        "support": {"proxy": True},
        "apiKeyAttachment": "header",
        "apiKeyHeaderName": "Authorization",
        "apiKeyHeaderValuePrefix": "Bearer ",
    }
    entry.update(fields)
    return entry


CATALOG = Catalog(
    {
        p.name: p
        for p in map(
            parse_provider,
            [
                _entry("intercom"),
                _entry("closed", support={"proxy": False}),
                _entry(
                    "modular",
                    defaultModule="crm",
                    modules={
                        "crm": {"baseURL": "https://crm.example.com", "proxy": True},
                        "mail": {"baseURL": "https://mail.example.com", "proxy": False},
                    },
                ),
                _entry("plain"),
            ],
        )
    }
)


H = "specVersion: 1.0.0\nintegrations:\n  - "


def issues_of(text: str) -> list[tuple[str, str]]:
    with pytest.raises(InvalidAmpYaml) as caught:
        parse_amp_yaml(text, CATALOG)
    return [(issue.name, issue.detail) for issue in caught.value.issues]


def names_of(text: str) -> list[str]:
    return [name for name, _ in issues_of(text)]


def test_a_valid_file_gives_its_integrations_with_defaults() -> None:
    amp = parse_amp_yaml(
        """
specVersion: 1.0.0
integrations:
  - name: proxy-intercom
    displayName: Proxy to Intercom
    provider: intercom
    proxy:
      enabled: true
  - name: modular_one
    provider: modular
    module: crm
    proxy: {enabled: true, useModule: true}
""",
        CATALOG,
    )
    first, second = amp.integrations
    assert (first.name, first.provider, first.proxy_enabled, first.use_module) == (
        "proxy-intercom",
        "intercom",
        True,
        False,
    )
    assert first.display_name == "Proxy to Intercom"
    assert first.spec["proxy"] == {"enabled": True}
    assert (second.module, second.use_module) == ("crm", True)
    assert amp.warnings == ()


def test_proxy_enabled_defaults_to_false() -> None:
    amp = parse_amp_yaml(H + "{name: a, provider: intercom, proxy: {}}", CATALOG)
    assert amp.integrations[0].proxy_enabled is False


def test_read_write_subscribe_are_kept_with_a_warning_that_they_are_not_run() -> None:
    amp = parse_amp_yaml(
        "specVersion: 1.0.0\nintegrations:\n"
        "  - name: a\n    provider: intercom\n    read: {objects: [{objectName: contact}]}\n",
        CATALOG,
    )
    assert amp.integrations[0].spec["read"] == {"objects": [{"objectName": "contact"}]}
    assert len(amp.warnings) == 1
    assert "read" in amp.warnings[0]
    assert "not run" in amp.warnings[0]


BAD_FILES = [
    ("integrations:\n  - {name: a, provider: intercom, proxy: {}}", "specVersion"),
    (
        "specVersion: 2.0.0\nintegrations:\n  - {name: a, provider: intercom, proxy: {}}",
        "specVersion",
    ),
    (
        "specVersion: 1.0\nintegrations:\n  - {name: a, provider: intercom, proxy: {}}",
        "specVersion",
    ),
    ("specVersion: 1.0.0", "integrations"),
    ("specVersion: 1.0.0\nintegrations: []", "integrations"),
    (
        H + "{provider: intercom, proxy: {}}",
        "integrations[0].name",
    ),
    (
        H + "{name: Bad Name, provider: intercom, proxy: {}}",
        "integrations[0].name",
    ),
    (
        H + "{name: " + "a" * 65 + ", provider: intercom, proxy: {}}",
        "integrations[0].name",
    ),
    (
        H + "{name: a, provider: intercom, proxy: {}}\n"
        "  - {name: a, provider: intercom, proxy: {}}",
        "integrations[1].name",
    ),
    (
        H + "{name: a, displayName: " + "x" * 101 + ", provider: intercom, proxy: {}}",
        "integrations[0].displayName",
    ),
    (H + "{name: a, proxy: {}}", "integrations[0].provider"),
    (
        H + "{name: a, provider: Intercom, proxy: {}}",
        "integrations[0].provider",
    ),
    (H + "{name: a, provider: intercom}", "integrations[0]"),
    (
        H + "{name: a, provider: intercom, proxy: {enabled: yes-please}}",
        "integrations[0].proxy.enabled",
    ),
    (
        H + "{name: a, provider: intercom, proxy: {useModule: 1}}",
        "integrations[0].proxy.useModule",
    ),
    (
        H + "{name: a, provider: modular, module: nope, proxy: {}}",
        "integrations[0].module",
    ),
    (
        H + "{name: a, provider: closed, proxy: {enabled: true}}",
        "integrations[0].proxy",
    ),
    (
        "specVersion: 1.0.0\nintegrations:\n"
        "  - {name: a, provider: modular, module: mail, proxy: {useModule: true}}",
        "integrations[0].proxy.useModule",
    ),
    (
        H + "{name: a, provider: plain, proxy: {useModule: true}}",
        "integrations[0].proxy.useModule",
    ),
    ("specVersion: 1.0.0\nintegrations:\n  - just-a-string", "integrations[0]"),
    ("- a list", ""),
]


@pytest.mark.parametrize(("text", "field"), BAD_FILES)
def test_each_broken_rule_is_reported_on_its_field(text: str, field: str) -> None:
    assert names_of(text) == [field]


def test_use_module_falls_back_to_the_provider_default_module() -> None:
    amp = parse_amp_yaml(
        H + "{name: a, provider: modular, proxy: {useModule: true}}",
        CATALOG,
    )
    assert amp.integrations[0].use_module is True


def test_every_problem_in_the_file_is_reported_at_once() -> None:
    names = names_of(
        "specVersion: 9\nintegrations:\n"
        "  - {name: ok, provider: nope, proxy: {}}\n"
        "  - {name: BAD, provider: intercom, proxy: {}}\n"
        "  - {name: ok, provider: closed, proxy: {}}\n"
    )
    assert names == [
        "specVersion",
        "integrations[0].provider",
        "integrations[1].name",
        "integrations[2].name",
        "integrations[2].proxy",
    ]


def test_a_yaml_syntax_error_names_its_line() -> None:
    with pytest.raises(InvalidAmpYaml) as caught:
        parse_amp_yaml("specVersion: 1.0.0\nintegrations:\n  - name: [unclosed\n", CATALOG)
    assert "line 4" in caught.value.detail or "line 3" in caught.value.detail
    assert caught.value.issues[0].name == "sourceYaml"
