"""amp.yaml validation: every rule names the field it broke, and all problems come back at once."""

from __future__ import annotations

import json

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


VALID = H + "name: n1\n    provider: intercom\n    proxy:\n      enabled: true\n"


def _laughs(levels: int) -> str:
    """A "billion laughs" value: small text, 10**levels values once aliases are expanded."""
    lines = ["      a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels + 1):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"      a{level}: &a{level} [{refs}]")
    return VALID + "    extra:\n" + "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_quickly_as_too_large() -> None:
    text = _laughs(9)
    assert len(text) < 1000
    with pytest.raises(InvalidAmpYaml) as caught:
        parse_amp_yaml(text, CATALOG)
    assert caught.value.issues[0].name == "sourceYaml"
    assert "aliases" in caught.value.issues[0].detail


def test_an_alias_that_contains_itself_is_refused() -> None:
    assert names_of(VALID + "    extra: &loop [*loop]\n") == ["sourceYaml"]


def test_aliases_and_merge_keys_within_the_budget_are_expanded() -> None:
    text = (
        "specVersion: 1.0.0\nintegrations:\n"
        "  - &base {name: one, provider: intercom, proxy: {enabled: true}}\n"
        "  - <<: *base\n    name: two\n"
    )
    amp = parse_amp_yaml(text, CATALOG)
    assert [(i.name, i.provider, i.proxy_enabled) for i in amp.integrations] == [
        ("one", "intercom", True),
        ("two", "intercom", True),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "[" * 5000 + "]" * 5000,
        VALID + "    extra: " + "{a: " * 2000 + "1" + "}" * 2000 + "\n",
        VALID + "    extra:\n" + "".join("  " * (i + 3) + f"k{i}:\n" for i in range(200)),
    ],
    ids=["flow-lists", "flow-maps", "block-maps"],
)
def test_deep_nesting_is_a_named_error_not_a_stack_overflow(text: str) -> None:
    with pytest.raises(InvalidAmpYaml) as caught:
        parse_amp_yaml(text, CATALOG)
    assert "nested deeper than" in caught.value.detail
    assert caught.value.issues[0].name == "sourceYaml"


def test_values_json_has_no_type_for_are_kept_as_text() -> None:
    text = VALID + (
        "    2001-01-01: a date key\n"
        "    7: an int key\n"
        "    ~: a null key\n"
        "    read:\n"
        "      when: 2001-01-01T10:00:00Z\n"
        "      ratio: .nan\n"
        "      limit: .inf\n"
        "      blob: !!binary aGVsbG8=\n"
        "      tags: !!set {b, a}\n"
    )
    spec = parse_amp_yaml(text, CATALOG).integrations[0].spec
    assert spec["2001-01-01"] == "a date key"
    assert spec["7"] == "an int key"
    assert spec["null"] == "a null key"
    read = spec["read"]
    assert read["when"].startswith("2001-01-01")
    assert (read["ratio"], read["limit"]) == ("nan", "inf")
    assert isinstance(read["blob"], str)
    assert read["tags"] == ["a", "b"]
    json.dumps(spec, allow_nan=False)  # storable and answerable as strict JSON


@pytest.mark.parametrize(
    "text", ["- just\n- a list\n", "'a string'\n", "42\n", "", "!!binary aGVsbG8=\n"]
)
def test_a_document_that_is_not_a_mapping_is_one_issue(text: str) -> None:
    assert names_of(text) == [""]
