"""Read and validate the proxy's own request headers (``x-amp-*``, ``x-api-key``). Pure.

Every problem with them is reported at once, one ``Issue`` per header, so a client fixes its call in
one round. A header sent twice with different values is refused rather than resolved by order: two
project ids or installation ids in one call mean the caller (or something between) is confused, and
acting for either could be acting for the wrong customer. The headers a proxy call carries:

- ``x-amp-proxy-version``: must be ``1``.
- ``x-amp-project-id``: the project's UUID.
- ``x-api-key``: an API key of that project.
- ``x-amp-installation-id``, or ``x-amp-integration-name`` with ``x-amp-group-ref``: which
  installation to act for (the installation id wins when all three are given).
- ``x-amp-rate-limiter-mode``: optional; ``throttle`` turns on the throttle mode (see
  ``passway.core.throttle``). Any other non-empty value is refused, so a typo is not silent.
- ``x-amp-timeout-seconds``: optional; see ``passway.proxy.timeouts``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from typing import Any, Final

from passway.core.headers import name_kind
from passway.errors import Issue, MissingHeaders, UnsupportedProxyVersion
from passway.proxy.timeouts import parse_timeout_override

PROXY_VERSION_HEADER = b"x-amp-proxy-version"
_WANTED = frozenset(
    {
        PROXY_VERSION_HEADER,
        b"x-amp-project-id",
        b"x-api-key",
        b"x-amp-installation-id",
        b"x-amp-integration-name",
        b"x-amp-group-ref",
        b"x-amp-rate-limiter-mode",
        b"x-amp-timeout-seconds",
    }
)

Selector = tuple[str, ...]


def is_proxy_call(scope: dict[str, Any]) -> bool:
    """Whether a request is a proxy call (it carries ``x-amp-proxy-version``), as the ports route
    it. Compiled with the hot path: every request on the main port asks."""
    return any(name == PROXY_VERSION_HEADER for name, _ in scope["headers"])


class ProxyHeaders:
    """The validated proxy headers of one call, read-only by convention.

    A plain class with its own ``__init__``, not a dataclass: compiled, it is built natively on
    every call, where mypyc leaves a dataclass's generated ``__init__`` interpreted (about a
    microsecond a call, seen in the profile)."""

    __slots__ = (
        "api_key",
        "group_ref",
        "installation_id",
        "integration_name",
        "project_id",
        "selector",
        "throttle",
        "timeout",
    )

    def __init__(
        self,
        project_id: str,
        api_key: str,
        installation_id: str | None,
        integration_name: str | None,
        group_ref: str | None,
        throttle: bool,
        timeout: float | None,
    ) -> None:
        self.project_id = project_id
        self.api_key = api_key
        self.installation_id = installation_id
        self.integration_name = integration_name
        self.group_ref = group_ref
        self.throttle = throttle
        self.timeout = timeout
        # How the installation is named: ``("id", id)`` or ``("name", integration, group)``.
        self.selector: Selector = (
            ("id", installation_id)
            if installation_id is not None
            else ("name", integration_name or "", group_ref or "")
        )

    def __repr__(self) -> str:  # never the API key
        return f"ProxyHeaders(project_id={self.project_id!r}, selector={self.selector!r})"


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


# Project ids already found canonical (a few per instance): a dictionary lookup instead of the
# pattern's 36 steps on every call. Bounded: emptied when full.
_CANONICAL: Final[dict[str, str]] = {}
_CANONICAL_MAX: Final = 1024


def _canonical_uuid(value: str) -> str | None:
    known = _CANONICAL.get(value)
    if known is not None:
        return known
    if _CANONICAL_UUID.fullmatch(value):
        canonical = value  # the common case, without building a UUID object
    else:
        try:
            canonical = str(uuid.UUID(value))
        except ValueError:
            return None
    if len(_CANONICAL) >= _CANONICAL_MAX:
        _CANONICAL.clear()
    _CANONICAL[value] = canonical
    return canonical


def _missing(name: str, detail: str = "Required header is missing.") -> Issue:
    return Issue(location="header", name=name, detail=detail)


def parse_proxy_headers(
    headers: Iterable[tuple[bytes, bytes]], *, max_timeout: float
) -> ProxyHeaders:
    """Validate the proxy headers; raise ``UnsupportedProxyVersion`` or ``MissingHeaders``."""
    found: dict[bytes, str] = {}
    conflicting: list[bytes] = []
    for name, value in headers:
        lowered = name_kind(name)[0]
        if lowered in _WANTED:
            text = value.decode("latin-1").strip()
            first = found.setdefault(lowered, text)
            if first != text and lowered not in conflicting:
                conflicting.append(lowered)

    version = found.get(b"x-amp-proxy-version", "")
    if version != "1":
        raise UnsupportedProxyVersion(
            f"x-amp-proxy-version must be 1, not {version[:16]!r}.",
            issues=[Issue("header", "x-amp-proxy-version", "Must be 1.", version[:16])],
        )

    issues = [
        Issue("header", name.decode(), "Sent more than once with different values.")
        for name in conflicting
    ]
    raw_project = found.get(b"x-amp-project-id", "")
    project_id = _canonical_uuid(raw_project) if raw_project else None
    if not raw_project:
        issues.append(_missing("x-amp-project-id"))
    elif project_id is None:
        issues.append(
            Issue("header", "x-amp-project-id", "Must be the project's UUID.", raw_project[:64])
        )
    api_key = found.get(b"x-api-key", "")
    if not api_key:
        issues.append(_missing("x-api-key"))

    installation_id = found.get(b"x-amp-installation-id") or None
    integration_name = found.get(b"x-amp-integration-name") or None
    group_ref = found.get(b"x-amp-group-ref") or None
    if installation_id is None:
        if integration_name is None and group_ref is None:
            issues.append(
                _missing(
                    "x-amp-installation-id",
                    "Send x-amp-installation-id, or x-amp-integration-name with x-amp-group-ref.",
                )
            )
        elif integration_name is None:
            issues.append(_missing("x-amp-integration-name", "Required with x-amp-group-ref."))
        elif group_ref is None:
            issues.append(_missing("x-amp-group-ref", "Required with x-amp-integration-name."))

    mode = found.get(b"x-amp-rate-limiter-mode", "").lower()
    if mode not in ("", "throttle"):
        issues.append(
            Issue("header", "x-amp-rate-limiter-mode", "Only 'throttle' is known.", mode[:32])
        )

    timeout: float | None = None
    raw_timeout = found.get(b"x-amp-timeout-seconds")
    if raw_timeout:
        timeout, timeout_issue = parse_timeout_override(raw_timeout, max_timeout)
        if timeout_issue is not None:
            issues.append(timeout_issue)

    if issues or project_id is None:
        raise MissingHeaders(issues=issues)
    return ProxyHeaders(
        project_id,
        api_key,
        installation_id,
        integration_name,
        group_ref,
        mode == "throttle",
        timeout,
    )
