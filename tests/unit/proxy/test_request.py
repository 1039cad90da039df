"""Parsing the proxy headers: what is accepted, and every refusal named at once."""

from __future__ import annotations

import uuid

import pytest

from passway.errors import MissingHeaders, UnsupportedProxyVersion
from passway.proxy import request as proxy_request
from passway.proxy.request import parse_proxy_headers

PROJECT = str(uuid.uuid4())


def headers(**values: str) -> list[tuple[bytes, bytes]]:
    base = {
        "x-amp-proxy-version": "1",
        "x-amp-project-id": PROJECT,
        "x-api-key": "pw_key",
        "x-amp-installation-id": "inst-1",
    }
    base.update(values)
    return [(k.encode(), v.encode()) for k, v in base.items() if v != "-"]


def test_complete_headers_parse_into_values() -> None:
    call = parse_proxy_headers(headers(), max_timeout=600)
    assert (call.project_id, call.api_key, call.installation_id) == (PROJECT, "pw_key", "inst-1")
    assert call.selector == ("id", "inst-1")
    assert not call.throttle
    assert call.timeout is None


def test_installation_id_wins_over_name_and_group() -> None:
    call = parse_proxy_headers(
        headers(**{"x-amp-integration-name": "n", "x-amp-group-ref": "g"}), max_timeout=600
    )
    assert call.selector == ("id", "inst-1")


def test_name_and_group_select_when_no_installation_id() -> None:
    call = parse_proxy_headers(
        headers(
            **{"x-amp-installation-id": "-", "x-amp-integration-name": "n", "x-amp-group-ref": "g"}
        ),
        max_timeout=600,
    )
    assert call.selector == ("name", "n", "g")


def test_project_id_is_canonicalised() -> None:
    for _ in range(2):  # the second time from the table of ids already seen
        upper = parse_proxy_headers(
            headers(**{"x-amp-project-id": PROJECT.upper()}), max_timeout=600
        )
        braced = parse_proxy_headers(
            headers(**{"x-amp-project-id": f"{{{PROJECT}}}"}), max_timeout=600
        )
        assert upper.project_id == braced.project_id == PROJECT


def test_ids_seen_are_remembered_within_bounds() -> None:
    for _ in range(proxy_request._CANONICAL_MAX + 10):
        parse_proxy_headers(headers(**{"x-amp-project-id": str(uuid.uuid4())}), max_timeout=600)
        assert len(proxy_request._CANONICAL) <= proxy_request._CANONICAL_MAX
    with pytest.raises(MissingHeaders):  # what is not a UUID is never remembered as one
        parse_proxy_headers(headers(**{"x-amp-project-id": "not-a-uuid"}), max_timeout=600)
    assert "not-a-uuid" not in proxy_request._CANONICAL


@pytest.mark.parametrize("version", ["2", "", "1.0", "-"])
def test_other_versions_are_unsupported(version: str) -> None:
    with pytest.raises(UnsupportedProxyVersion):
        parse_proxy_headers(headers(**{"x-amp-proxy-version": version}), max_timeout=600)


def test_all_missing_headers_are_reported_together() -> None:
    with pytest.raises(MissingHeaders) as info:
        parse_proxy_headers([(b"x-amp-proxy-version", b"1")], max_timeout=600)
    assert [i.name for i in info.value.issues] == [
        "x-amp-project-id",
        "x-api-key",
        "x-amp-installation-id",
    ]


def test_group_ref_without_integration_name_names_the_name() -> None:
    with pytest.raises(MissingHeaders) as info:
        parse_proxy_headers(
            headers(**{"x-amp-installation-id": "-", "x-amp-group-ref": "g"}), max_timeout=600
        )
    assert [i.name for i in info.value.issues] == ["x-amp-integration-name"]


def test_timeout_override_is_capped_and_bad_values_refused() -> None:
    call = parse_proxy_headers(headers(**{"x-amp-timeout-seconds": "2.5"}), max_timeout=600)
    assert call.timeout == 2.5
    call = parse_proxy_headers(headers(**{"x-amp-timeout-seconds": "9999"}), max_timeout=600)
    assert call.timeout == 600
    with pytest.raises(MissingHeaders) as info:
        parse_proxy_headers(headers(**{"x-amp-timeout-seconds": "soon"}), max_timeout=600)
    assert [i.name for i in info.value.issues] == ["x-amp-timeout-seconds"]


def test_throttle_mode_is_case_insensitive_and_typos_refused() -> None:
    call = parse_proxy_headers(headers(**{"x-amp-rate-limiter-mode": "Throttle"}), max_timeout=1)
    assert call.throttle
    with pytest.raises(MissingHeaders):
        parse_proxy_headers(headers(**{"x-amp-rate-limiter-mode": "fast"}), max_timeout=1)


def test_header_names_are_matched_case_insensitively() -> None:
    raw = [(k.upper(), v) for k, v in headers()] + [(b"x-api-key", b"pw_key")]
    assert parse_proxy_headers(raw, max_timeout=1).api_key == "pw_key"


@pytest.mark.parametrize(
    "name", ["x-amp-project-id", "x-api-key", "x-amp-installation-id", "x-amp-rate-limiter-mode"]
)
def test_a_header_sent_twice_with_different_values_is_refused_by_name(name: str) -> None:
    other = str(uuid.uuid4()) if name == "x-amp-project-id" else "other"
    first = headers(**{"x-amp-rate-limiter-mode": "throttle"})
    raw = [*first, (name.upper().encode(), other.encode())]
    with pytest.raises(MissingHeaders) as caught:
        parse_proxy_headers(raw, max_timeout=600)
    assert [(i.location, i.name) for i in caught.value.issues] == [("header", name)]


def test_a_header_repeated_with_the_same_value_is_accepted() -> None:
    raw = [*headers(), (b"X-Amp-Installation-Id", b" inst-1 ")]
    assert parse_proxy_headers(raw, max_timeout=600).installation_id == "inst-1"


def test_conflicting_versions_are_refused_even_when_the_first_is_1() -> None:
    raw = [*headers(), (b"x-amp-proxy-version", b"2")]
    with pytest.raises(MissingHeaders) as caught:
        parse_proxy_headers(raw, max_timeout=600)
    assert [i.name for i in caught.value.issues] == ["x-amp-proxy-version"]


@pytest.mark.parametrize(
    "value",
    [b"", b"   ", b"\xff\xfe", b"a" * 65536, b"{not-a-uuid}", b"0000-00000000000g"],
)
def test_a_malformed_project_id_is_a_header_issue_never_an_exception(value: bytes) -> None:
    raw = [(k, v) for k, v in headers() if k != b"x-amp-project-id"]
    raw.append((b"x-amp-project-id", value))
    with pytest.raises(MissingHeaders) as caught:
        parse_proxy_headers(raw, max_timeout=600)
    assert [i.name for i in caught.value.issues] == ["x-amp-project-id"]
    assert all(len(str(i.value or "")) <= 64 for i in caught.value.issues)


def test_non_ascii_header_bytes_are_read_as_latin_1_not_an_error() -> None:
    raw = [(k, v) for k, v in headers() if k != b"x-amp-installation-id"]
    raw.append((b"x-amp-installation-id", b"inst-\xe9\xff"))
    assert parse_proxy_headers(raw, max_timeout=600).installation_id == "inst-\xe9\xff"
