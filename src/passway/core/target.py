"""The upstream URL of a proxy call: decided by the catalog and the connection, never by the client.

``select_base_url`` picks the provider's root or module base URL, ``render_base_url`` fills and
checks its template variables, and ``build_upstream_url`` appends the client's path and query so
that the origin (scheme, host, port) and the base path can never change: the result always starts
with the base URL. Pure functions; the parsed form of each base URL is cached because the proxy
calls ``build_upstream_url`` on every request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from passway.core import hostnames
from passway.core.provider import ROOT_MODULE
from passway.core.template_syntax import choose_alternative, parse_url_template
from passway.core.templates import connection_template_values, metadata_value_issues, render_url
from passway.errors import InvalidTarget, Issue, ProviderUnsupported, ProxyNotEnabled

if TYPE_CHECKING:
    from passway.core.provider import Provider
    from passway.records import Connection, Integration

# Characters kept as they are in a path: RFC 3986 pchar plus "/" and "%" (checked separately).
_PATH_SAFE = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*\Z")
_QUERY_SAFE = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*\Z")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Separators a server might treat as "/" once decoded: "/", "\" and their percent-encoded forms.
_SEGMENT_SPLIT = re.compile(r"/|\\|%2[fF]|%5[cC]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]|%[01][0-9A-Fa-f]|%7[fF]")
# In the query only raw control characters are refused: encoded ones stay encoded on the wire and
# are legitimate there (a multi-line SOQL query sends %0A).
_RAW_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# The common path: "/", then only characters that need no encoding (no "%", no backslash: "/" is
# its only separator). It is safe unless a segment is "." or "..".
_PLAIN_PATH = re.compile(r"/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*\Z")
_PLAIN_DOT_SEGMENT = re.compile(r"(?:\A|/)\.\.?(?=/|\Z)")


def select_base_url(provider: Provider, integration: Integration) -> str:
    """The base URL template of a call: the module's with ``proxy.useModule``, else the root one.

    With ``useModule`` the integration's ``module`` is used, else the provider's default module;
    that module must exist and allow proxying. The module name ``root`` (the default module of a few
    built-in providers that list no modules) means the root base URL.
    """
    if not provider.support.proxy:
        raise ProviderUnsupported(f"The provider {provider.name!r} cannot be proxied.")
    if not integration.use_module:
        return provider.base_url
    name = integration.module or provider.default_module
    module = provider.module(name) if name else None
    if module is None and name == ROOT_MODULE:
        return provider.base_url
    if module is None:
        raise ProviderUnsupported(
            f"The integration uses a module, but the provider {provider.name!r} has no module "
            f"{name!r}."
            if name
            else f"The provider {provider.name!r} has no default module."
        )
    if not module.proxy:
        raise ProxyNotEnabled(
            f"The module {module.name!r} of provider {provider.name!r} cannot be proxied."
        )
    return module.base_url


def module_issues(provider: Provider, module: str | None, use_module: bool) -> list[Issue]:
    """Deploy-time check of an integration's ``module`` and ``proxy.useModule`` (amp.yaml)."""
    issues: list[Issue] = []
    if module is not None and module != ROOT_MODULE and provider.module(module) is None:
        issues.append(
            Issue("body", "module", f"{provider.name!r} has no module {module!r}", module)
        )
    if use_module and not issues:
        name = module or provider.default_module
        found = provider.module(name) if name else None
        if found is None and name == ROOT_MODULE:
            return issues
        if found is None:
            issues.append(
                Issue("body", "proxy.useModule", f"{provider.name!r} has no default module")
            )
        elif not found.proxy:
            issues.append(
                Issue("body", "proxy.useModule", f"module {found.name!r} cannot be proxied", True)
            )
    return issues


def render_base_url(provider: Provider, integration: Integration, connection: Connection) -> str:
    """The connection's base URL, with every value checked for the slot it fills.

    Raises ``TemplateVariableMissing`` for a variable without a value and ``InvalidTarget`` for a
    value that would move the host, or a rendered URL that is not an absolute http(s) URL.
    """
    values = connection_template_values(provider, connection)
    template = choose_alternative(select_base_url(provider, integration), values)
    problems = metadata_value_issues(provider, values)
    if problems:
        name, problem = problems[0]
        raise InvalidTarget(f"The connection's value for {problem}.", context={"variable": name})
    rendered = render_url(template, values)
    base = _parsed_base(rendered)
    origin = parse_url_template(template).literal_origin
    if origin is not None and not (base.prefix + "/").startswith(origin.lower() + "/"):
        raise InvalidTarget("The rendered base URL does not keep the catalog's origin.")
    return rendered


@dataclass(frozen=True, slots=True)
class _Base:
    prefix: str  # scheme://host[:port]/base/path (no trailing "/")
    query: str  # the base URL's own query, if any


@lru_cache(maxsize=4096)
def _parsed_base(base_url: str) -> _Base:
    if any(ord(c) < 0x21 or ord(c) == 0x7F or c == "\\" for c in base_url):
        raise InvalidTarget("The provider base URL holds characters a URL may not.")
    try:
        parts = urlsplit(base_url)
        port = parts.port
    except ValueError:
        raise InvalidTarget("The provider base URL is not a valid URL.") from None
    host = parts.hostname or ""
    valid_host = hostnames.is_dns_name(host) or _is_ip_literal(host)
    if parts.scheme not in ("http", "https") or not valid_host or "@" in parts.netloc:
        raise InvalidTarget("The provider base URL is not an absolute http(s) URL on a valid host.")
    if parts.fragment:
        raise InvalidTarget("The provider base URL may not have a fragment.")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return _Base(f"{parts.scheme}://{netloc}{parts.path.rstrip('/')}", parts.query)


def _is_ip_literal(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def build_upstream_url(base_url: str, raw_path: bytes | str, query_string: bytes) -> str:
    """``base_url`` + the client's path + the client's query; the result starts with ``base_url``.

    The path is always appended as a path: leading slashes are collapsed so it cannot read as an
    authority, and characters that could end the path (``#``, ``?``, spaces, non-ASCII) are
    percent-encoded. Refused with ``InvalidTarget``: ``.``/``..`` segments (raw or percent-encoded,
    also across ``\\``, ``%2F`` and ``%5C``), raw backslashes, control characters and NUL (raw or
    percent-encoded). Percent-encoded slashes elsewhere are passed on untouched (GitLab's project
    paths need them).
    """
    base = _parsed_base(base_url)
    path = _safe_path(raw_path)
    query = _safe_query(query_string)
    if base.query:
        query = f"{base.query}&{query}" if query else base.query
    return f"{base.prefix}{path}?{query}" if query else f"{base.prefix}{path}"


def _safe_path(raw_path: bytes | str) -> str:
    # One character per byte from here on, so that encoding is byte-exact.
    data = raw_path if isinstance(raw_path, bytes) else raw_path.encode("utf-8")
    text = data.decode("latin-1")
    if not text:
        return ""
    if _PLAIN_PATH.match(text):
        if _PLAIN_DOT_SEGMENT.search(text):
            raise _refused("'.' or '..' segments")
        return "/" + text.lstrip("/")
    if _CONTROL.search(text) or "\\" in text:
        raise _refused("control characters or backslashes")
    if not text.startswith("/"):
        raise _refused("a path that does not start with '/'")
    if not _PATH_SAFE.match(text) or _BAD_PERCENT.search(text):
        text = _encode(text, _PATH_SAFE_CHARS)
    if "." in text or "%2e" in text or "%2E" in text:
        for segment in _SEGMENT_SPLIT.split(text):
            # Only a segment of at most 6 characters ("%2e%2e") can decode to "." or "..".
            if segment and len(segment) <= 6 and unquote(segment) in (".", ".."):
                raise _refused("'.' or '..' segments")
    return "/" + text.lstrip("/")


def _safe_query(query_string: bytes) -> str:
    text = query_string.decode("latin-1")
    if not text:
        return ""
    if _RAW_CONTROL.search(text):
        raise InvalidTarget(
            "The query string holds control characters.",
            issues=[Issue("query", "query", "control characters are not allowed")],
        )
    if not _QUERY_SAFE.match(text) or _BAD_PERCENT.search(text):
        text = _encode(text, _QUERY_SAFE_CHARS)
    return text


_PATH_SAFE_CHARS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/"
)
_QUERY_SAFE_CHARS = _PATH_SAFE_CHARS | {"?"}
_HEX = frozenset("0123456789abcdefABCDEF")


def _encode(text: str, safe: frozenset[str]) -> str:
    """Percent-encode every byte (one character each) outside ``safe``, keeping ``%XX`` escapes."""
    out: list[str] = []
    raw = text
    for index, char in enumerate(raw):
        if char in safe or (
            char == "%"
            and raw[index + 1 : index + 2] in _HEX
            and raw[index + 2 : index + 3] in _HEX
        ):
            out.append(char)
        else:
            out.append(f"%{ord(char):02X}")
    return "".join(out)


def _refused(what: str) -> InvalidTarget:
    return InvalidTarget(
        f"The request path holds {what}; it could leave the provider's base URL.",
        issues=[Issue("path", "path", f"{what} are not allowed")],
    )
