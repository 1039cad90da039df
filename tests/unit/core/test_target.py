"""The upstream URL: base URL choice, rendering, and client paths that never move the target."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest
from yarl import URL

from passway.catalog import Provider, load_catalog, parse_provider
from passway.core.target import (
    build_upstream_url,
    module_issues,
    render_base_url,
    select_base_url,
)
from passway.errors import (
    InvalidTarget,
    ProviderUnsupported,
    ProxyNotEnabled,
    TemplateVariableMissing,
)
from passway.records import Connection, Integration, MetadataValue
from support.records import Records

BASES = [
    "https://api.example.com",
    "https://api.example.com/",
    "https://api.example.com/v1",
    "https://api.example.com/v1/",
    "http://127.0.0.1:8080/base/v1",
    "https://api.example.com:8443/x",
]

# Paths that are refused outright: each could leave the base path or inject a header.
REFUSED_PATHS: list[bytes | str] = [
    b"/..",
    b"/../admin",
    b"/a/../../b",
    b"/a/..",
    b"/.",
    b"/./a",
    b"/%2e%2e/admin",
    b"/%2E%2E/admin",
    b"/.%2e/admin",
    b"/%2e./admin",
    b"/a/%2e",
    b"/a%2f..%2fadmin",
    b"/a%2F..%2Fadmin",
    b"/a%5c..%5cadmin",
    b"/a\\..\\admin",
    b"/a\\b",
    b"\\\\evil.test\\x",
    b"/a\r\nHost: evil.test",
    b"/a\nX: y",
    b"/a\x00b",
    b"/a%00b",
    b"/a%0d%0aHost:%20evil.test",
    b"/a%0AHost",
    b"/a\x7f",
    b"/a\tb",
    b"http://evil.test/x",
    b"https://evil.test",
    b"evil.test/x",
    b"@evil.test/x",
    b"*",
    "/..",
    "/a\r\n",
]

# Paths that are passed on (possibly encoded) and must keep the origin and base path.
KEPT_PATHS: list[tuple[bytes | str, str]] = [
    (b"/x/y", "/x/y"),
    (b"//evil.test/x", "/evil.test/x"),
    (b"///evil.test", "/evil.test"),
    (b"/@evil.test", "/@evil.test"),
    (b"/a@evil.test:80/x", "/a@evil.test:80/x"),
    (b"/a#evil.test", "/a%23evil.test"),
    (b"/a?evil=1", "/a%3Fevil=1"),
    (b"/a%2Fb", "/a%2Fb"),
    (b"/a%2fevil.test", "/a%2fevil.test"),
    (b"/..a/b..", "/..a/b.."),
    (b"/.well-known/x", "/.well-known/x"),
    (b"/a b", "/a%20b"),
    (b"/\xc3\xa9", "/%C3%A9"),
    ("/é", "/%C3%A9"),
    (b"/%zz", "/%25zz"),
    (b"/%", "/%25"),
    (b"/%252e%252e/x", "/%252e%252e/x"),
    (b"/a<b>", "/a%3Cb%3E"),
    (b"", ""),
    (b"/", "/"),
]


def _same_origin_and_prefix(base: str, url: str) -> None:
    parsed_base, parsed = URL(base), URL(url, encoded=True)
    assert (parsed.scheme, parsed.host, parsed.port) == (
        parsed_base.scheme,
        parsed_base.host,
        parsed_base.port,
    )
    assert parsed.raw_path.startswith(parsed_base.raw_path.rstrip("/"))
    assert url.startswith(base.rstrip("/"))
    assert parsed.user is None and parsed.fragment == ""


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("path", REFUSED_PATHS)
def test_paths_that_could_escape_are_refused(base: str, path: bytes | str) -> None:
    with pytest.raises(InvalidTarget) as caught:
        build_upstream_url(base, path, b"")
    assert caught.value.status == 400
    assert caught.value.code == "invalid_target"


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize(("path", "expected"), KEPT_PATHS)
def test_other_paths_are_appended_to_the_base_path(
    base: str, path: bytes | str, expected: str
) -> None:
    url = build_upstream_url(base, path, b"")
    assert url == base.rstrip("/") + expected
    _same_origin_and_prefix(base, url)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (b"a=1&b=2", "?a=1&b=2"),
        (b"", ""),
        (b"next=https://evil.test/", "?next=https://evil.test/"),
        (b"a=%20b", "?a=%20b"),
        (b"a=#x", "?a=%23x"),
        (b"a=\xe9", "?a=%E9"),
        (b"a=b c", "?a=b%20c"),
        (b"q=SELECT+Id%0AFROM+Account", "?q=SELECT+Id%0AFROM+Account"),
    ],
)
def test_the_query_string_is_kept_and_can_only_be_a_query(query: bytes, expected: str) -> None:
    url = build_upstream_url("https://api.example.com/v1", b"/x", query)
    assert url == "https://api.example.com/v1/x" + expected
    _same_origin_and_prefix("https://api.example.com/v1", url)


@pytest.mark.parametrize("query", [b"a=1\r\nHost: evil.test", b"a=\x00", b"a=\x7f"])
def test_control_characters_in_the_query_are_refused(query: bytes) -> None:
    with pytest.raises(InvalidTarget):
        build_upstream_url("https://api.example.com", b"/x", query)


def test_the_base_urls_own_query_comes_first() -> None:
    url = build_upstream_url("https://api.example.com/a?key=1", b"/b", b"c=2")
    assert url == "https://api.example.com/a/b?key=1&c=2"


def test_random_hostile_paths_never_move_the_origin_or_leave_the_base_path() -> None:
    """Fuzz over the characters that matter; every accepted result keeps origin and prefix."""
    alphabet = ["/", "\\", ".", "%", "2e", "2f", "5c", "@", ":", "?", "#", "evil.test", "a", " "]
    alphabet += ["%00", "\r", "\n", "\x00", "..", "//", "%2E", "%2F", "\xff", "é"]
    rng = random.Random(20260101)
    base = "https://api.example.com/v1"
    accepted = 0
    for _ in range(4000):
        path = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8)))
        try:
            url = build_upstream_url(base, path.encode("utf-8"), path.encode("utf-8"))
        except InvalidTarget:
            continue
        accepted += 1
        _same_origin_and_prefix(base, url)
        segments = URL(url, encoded=True).raw_path.split("/")
        assert ".." not in segments and "." not in segments
    assert accepted > 100  # the fuzz exercised the accepting branch too


def test_plain_paths_pass_unchanged_unless_a_segment_is_a_dot_or_two() -> None:
    """Paths of characters that need no encoding (the common case, checked by one pattern) are
    refused exactly when a segment is "." or "..", and otherwise kept as they are."""
    rng = random.Random(20261202)
    alphabet = ["/", ".", "..", "a", "b.json", "~", "-", "_", "@", ":", "v1"]
    refused = 0
    for _ in range(3000):
        path = "/" + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 7)))
        dotted = any(segment in (".", "..") for segment in path.split("/"))
        try:
            url = build_upstream_url("https://api.example.com/v1", path.encode(), b"")
        except InvalidTarget:
            assert dotted, path
            refused += 1
            continue
        assert not dotted, path
        assert url == "https://api.example.com/v1/" + path.lstrip("/")
    assert 100 < refused < 2900  # both outcomes exercised


# ---------------------------------------------------------------- base URL choice and rendering

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _provider(**fields: Any) -> Provider:
    raw = {
        "name": "p",
        "authType": "basic",
        "baseURL": "https://{{.workspace}}.example.com/root",
        "support": {"proxy": True},
        "defaultModule": "api",
        "modules": {
            "api": {"baseURL": "https://{{.workspace}}.example.com/api", "proxy": True},
            "closed": {"baseURL": "https://closed.example.com", "proxy": False},
        },
        **fields,
    }
    return parse_provider(raw)


def _integration(module: str | None = None, use_module: bool = False) -> Integration:
    return Integration(
        id="i1",
        project_id="p1",
        name="int",
        display_name=None,
        provider="p",
        module=module,
        proxy_enabled=True,
        use_module=use_module,
        spec={},
        create_time=NOW,
        update_time=NOW,
    )


def _connection(workspace_ref: str | None, **metadata: str) -> Connection:
    return Records().connection(
        "p1",
        provider="p",
        provider_workspace_ref=workspace_ref,
        provider_metadata={k: MetadataValue(v) for k, v in metadata.items()},
    )


def test_the_root_base_url_is_used_unless_the_integration_uses_a_module() -> None:
    provider = _provider()
    assert select_base_url(provider, _integration("api")) == provider.base_url
    assert select_base_url(provider, _integration(None, True)).endswith("/api")
    assert select_base_url(provider, _integration("api", True)).endswith("/api")


def test_a_module_that_may_not_be_proxied_is_refused() -> None:
    provider = _provider()
    with pytest.raises(ProxyNotEnabled):
        select_base_url(provider, _integration("closed", True))
    [issue] = module_issues(provider, "closed", True)
    assert issue.name == "proxy.useModule" and "cannot be proxied" in issue.detail
    assert module_issues(provider, "closed", False) == []
    assert module_issues(provider, "nope", False)[0].name == "module"
    assert module_issues(provider, None, True) == []


def test_a_provider_that_may_not_be_proxied_is_refused() -> None:
    with pytest.raises(ProviderUnsupported):
        select_base_url(_provider(support={"proxy": False}), _integration())


def test_the_root_module_of_the_built_in_data_means_the_root_base_url() -> None:
    marketo = load_catalog().get("marketo")
    assert marketo is not None and marketo.default_module == "root"
    assert select_base_url(marketo, _integration(None, True)) == marketo.base_url


def test_render_base_url_fills_the_workspace_and_keeps_the_host_pattern() -> None:
    provider = _provider()
    url = render_base_url(provider, _integration(), _connection("acme"))
    assert url == "https://acme.example.com/root"
    with pytest.raises(TemplateVariableMissing):
        render_base_url(provider, _integration(), _connection(None))
    for hostile in ("evil.test/", "a@b", "x.evil.test#", "acme:1"):
        with pytest.raises(InvalidTarget):
            render_base_url(provider, _integration(), _connection(hostile))


def test_a_rendered_base_url_that_is_not_an_http_url_is_refused() -> None:
    provider = _provider(baseURL="ftp://files.example.com", defaultModule=None, modules={})
    with pytest.raises(InvalidTarget):
        render_base_url(provider, _integration(), _connection("acme"))
