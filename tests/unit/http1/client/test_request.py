"""The request side of the proxy's HTTP/1.1 client: URL split, framing and the exact head bytes."""

from __future__ import annotations

import pytest

from passway.http1.client.request import encode_head, framing, split_url


@pytest.mark.parametrize(
    ("url", "key", "host_header", "target"),
    [
        (
            "http://127.0.0.1:8080/a%20b?x=1",
            ("http", "127.0.0.1", 8080),
            "127.0.0.1:8080",
            "/a%20b?x=1",
        ),
        ("https://API.Example.com/v1", ("https", "api.example.com", 443), "api.example.com", "/v1"),
        ("http://example.com:80", ("http", "example.com", 80), "example.com", "/"),
        ("https://example.com?q=1", ("https", "example.com", 443), "example.com", "/?q=1"),
        ("http://[::1]:9000/p", ("http", "::1", 9000), "[::1]:9000", "/p"),
        (
            "https://example.com:8443/p;x=1",
            ("https", "example.com", 8443),
            "example.com:8443",
            "/p;x=1",
        ),
    ],
)
def test_split_url_gives_the_pool_key_host_header_and_target_verbatim(
    url: str, key: tuple[str, str, int], host_header: str, target: str
) -> None:
    origin, got_target = split_url(url)
    assert origin.key == key
    assert origin.host_header == host_header
    assert got_target == target


@pytest.mark.parametrize("url", ["ftp://example.com/", "example.com/x", "http:///nohost"])
def test_split_url_refuses_what_is_not_an_http_origin(url: str) -> None:
    with pytest.raises(ValueError):
        split_url(url)


@pytest.mark.parametrize(
    ("method", "headers", "body", "streamed", "expected"),
    [
        ("GET", [], None, False, ""),
        ("HEAD", [], None, False, ""),
        ("POST", [], None, False, "Content-Length: 0\r\n"),
        ("DELETE", [], None, False, "Content-Length: 0\r\n"),
        ("POST", [], b"", False, "Content-Length: 0\r\n"),
        ("POST", [], b"hello", False, "Content-Length: 5\r\n"),
        ("POST", [("content-length", "5")], b"hello", False, ""),
        ("PUT", [], None, True, "Transfer-Encoding: chunked\r\n"),
        ("PUT", [("Content-Length", "5")], None, True, ""),
    ],
)
def test_framing_is_what_aiohttp_sent_for_the_same_call(
    method: str,
    headers: list[tuple[str, str]],
    body: bytes | None,
    streamed: bool,
    expected: str,
) -> None:
    assert framing(method, headers, body, streamed) == expected


def test_head_is_request_line_host_first_headers_in_order_then_framing() -> None:
    origin, target = split_url("http://127.0.0.1:8080/p%20q?x=1")
    headers = [("x-b", "2"), ("accept", "*/*"), ("x-b", "3"), ("x-bytes", "caf\xe9")]
    head = encode_head("POST", target, origin, headers, "Content-Length: 5\r\n")
    assert head == (
        b"POST /p%20q?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nx-b: 2\r\naccept: */*\r\n"
        b"x-b: 3\r\nx-bytes: caf\xe9\r\nContent-Length: 5\r\n\r\n"
    )


def test_a_host_header_given_replaces_the_default_one() -> None:
    origin, target = split_url("https://example.com/")
    head = encode_head("GET", target, origin, [("host", "other.example")], "")
    assert head == b"GET / HTTP/1.1\r\nhost: other.example\r\n\r\n"


@pytest.mark.parametrize("value", ["a\r\nx-injected: 1", "a\nb", "a\rb"])
def test_a_line_break_in_a_header_value_is_refused(value: str) -> None:
    origin, target = split_url("https://example.com/")
    with pytest.raises(ValueError):
        encode_head("GET", target, origin, [("x-a", value)], "")
