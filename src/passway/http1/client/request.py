"""The request side of the proxy's HTTP/1.1 client: the URL split, the head bytes, body framing.

Pure functions. The head is what aiohttp used to send for the same call, byte for byte: the request
line, ``Host`` first (unless the headers carry one), the headers in the order given, then the
framing: the caller's ``Content-Length`` if it gave one, else ``Content-Length: <n>`` for a buffered
body (``0`` for a bodiless POST/PUT/PATCH/DELETE), else ``Transfer-Encoding: chunked`` for a stream.
No ``Expect``, no ``Connection`` (HTTP/1.1 keeps connections alive by default).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Methods for which an absent body is sent without a Content-Length (as aiohttp does).
_BODYLESS_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "CONNECT", "TRACE"})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a request goes: the pool key and the ``Host`` header value."""

    scheme: str
    host: str  # lower-case, IPv6 without brackets
    port: int
    host_header: str

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.port)


@lru_cache(maxsize=1024)
def _origin(scheme: str, netloc: str) -> Origin:
    parts = urlsplit(f"{scheme}://{netloc}")
    host = parts.hostname
    if scheme not in _DEFAULT_PORTS or not host:
        raise ValueError(f"unsupported upstream URL origin {scheme}://{netloc}")
    default = _DEFAULT_PORTS[scheme]
    port = parts.port or default
    shown = f"[{host}]" if ":" in host else host
    return Origin(scheme, host, port, shown if port == default else f"{shown}:{port}")


def split_url(url: str) -> tuple[Origin, str]:
    """The origin and the request target (path and query, as encoded in ``url``)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError("upstream URL without a scheme")
    slash = rest.find("/")
    query = rest.find("?")
    if slash < 0:
        cut = query if query >= 0 else len(rest)
    else:
        cut = query if 0 <= query < slash else slash
    target = rest[cut:]
    if not target.startswith("/"):
        target = "/" + target
    return _origin(scheme.lower(), rest[:cut]), target


def framing(
    method: str, headers: Sequence[tuple[str, str]], body: bytes | None, streamed: bool
) -> str:
    """The framing header line the request needs (``""`` when the caller's headers frame it)."""
    for name, _ in headers:
        if len(name) == 14 and name.lower() == "content-length":
            return ""
    if streamed:
        return "Transfer-Encoding: chunked\r\n"
    if body:
        return f"Content-Length: {len(body)}\r\n"
    if method not in _BODYLESS_METHODS:
        return "Content-Length: 0\r\n"
    return ""


def _names_host(headers: Sequence[tuple[str, str]]) -> bool:
    return any(len(name) == 4 and name.lower() == "host" for name, _ in headers)


def encode_head(
    method: str, target: str, origin: Origin, headers: Sequence[tuple[str, str]], frame: str
) -> bytes:
    """The request head as bytes (header values are latin-1 text, so every byte survives).

    Raises ``ValueError`` if a header carries CR or LF (a header injection never leaves).
    """
    fields = "".join([f"{name}: {value}\r\n" for name, value in headers])
    host = "" if _names_host(headers) else f"Host: {origin.host_header}\r\n"
    text = f"{method} {target} HTTP/1.1\r\n{host}{fields}{frame}\r\n"
    # One line break per line: request line, Host, each header, the framing line, the end.
    expected = 2 + len(headers) + (1 if host else 0) + (1 if frame else 0)
    if text.count("\n") != expected or text.count("\r") != expected:
        raise ValueError("Newline or carriage return character detected in a request header")
    return text.encode("latin-1")
