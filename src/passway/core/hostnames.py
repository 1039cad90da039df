"""What a value may look like where it lands in a URL: host label, whole host, origin, path.

These rules are what keeps a connection's values (a workspace, a region, a base URL captured from a
token response) from moving a provider call to another host. Pure functions over strings.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")
# RFC 3986 ``pchar`` without percent-encoding: what a template value may hold inside one segment.
_PATH_VALUE = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@]+\Z")
_QUERY_VALUE = re.compile(r"[A-Za-z0-9\-._~]+\Z")
# Names that never resolve on the public internet (RFC 6761, 6762, 8375 and common practice).
_NON_PUBLIC_SUFFIXES = (
    "localhost",
    "local",
    "localdomain",
    "internal",
    "intranet",
    "lan",
    "home.arpa",
    "arpa",
    "invalid",
    "onion",
)


def is_host_label(value: str) -> bool:
    """One DNS label: letters, digits and inner hyphens, 1 to 63 characters."""
    return bool(_LABEL.match(value))


def is_dns_name(value: str) -> bool:
    """Dot-separated host labels (no trailing dot, port or IP literal), at most 253 characters."""
    if not value or len(value) > 253:
        return False
    return all(is_host_label(label) for label in value.split("."))


def is_public_dns_name(value: str) -> bool:
    """A DNS name with at least two labels, a non-numeric top-level label, not a special-use name.

    This is a syntax rule only; the egress guard checks the addresses the name resolves to.
    """
    if not is_dns_name(value) or "." not in value:
        return False
    lowered = value.lower()
    if lowered.rsplit(".", 1)[1].isdigit():
        return False
    try:
        ipaddress.ip_address(lowered)
    except ValueError:
        pass
    else:
        return False
    return not any(lowered == s or lowered.endswith("." + s) for s in _NON_PUBLIC_SUFFIXES)


def public_https_origin(value: str) -> str | None:
    """``value`` as ``https://<public DNS name>`` (trailing ``/`` dropped), or None if it is not.

    Anything beyond the origin (a port, credentials, a path, a query or fragment) makes it None.
    """
    if any(ord(c) < 0x21 or ord(c) == 0x7F or c == "\\" for c in value):
        return None
    candidate = value[:-1] if value.endswith("/") else value
    try:
        parts = urlsplit(candidate)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() != "https" or port is not None or "@" in parts.netloc:
        return None
    if parts.path or parts.query or parts.fragment or "?" in candidate or "#" in candidate:
        return None
    host = parts.hostname or ""
    if parts.netloc.lower() != host or not is_public_dns_name(host):
        return None
    return f"https://{host}"


def is_path_value(value: str) -> bool:
    """Safe inside one path segment: no ``/``, ``?``, ``#``, ``%``, ``\\``, controls, nor ``..``."""
    return bool(_PATH_VALUE.match(value)) and ".." not in value and value != "."


def is_query_value(value: str) -> bool:
    """Safe inside a query string without encoding: unreserved characters only."""
    return bool(_QUERY_VALUE.match(value))
