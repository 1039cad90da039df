"""The syntax of provider URL templates, and the *slot* each variable fills in a URL.

Only the Go-template form ``{{.name}}`` / ``{{ .name }}`` is understood; any other ``{{ ... }}``
is a syntax error when the catalog is loaded, and nothing is ever evaluated.

What a value may contain depends on WHERE its variable sits in the URL (its slot):

- ``label``: part of the host, followed by more host (``https://{{.workspace}}.my.salesforce.com``):
  one DNS label such as ``acme``.
- ``domain``: the end of the host after a dot (``https://{{.workspace}}.{{.token_domain}}``): a
  public DNS name such as ``talkdeskid.com``.
- ``host``: the whole host (``https://{{.workspace}}``): a public DNS name.
- ``origin``: the start of the URL (``{{.api_base_url_for_customer}}``): ``https://`` and a public
  DNS name, nothing more.
- ``path``: one path segment (``https://api.atlassian.com/ex/jira/{{.cloudId}}``): no ``/``, ``?``,
  ``#``, ``%``, ``\\`` nor ``..``.
- ``query``: inside the query string: unreserved characters only.

A template may list alternatives, ``A || B``: the first alternative whose variables all have a
value is used, else the last one (so a missing value is reported against it). Each alternative is a
template of its own, with its own slots.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from passway.core import hostnames

SlotKind = Literal["label", "domain", "host", "origin", "path", "query"]

_VARIABLE = re.compile(r"\{\{\s*\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")

SLOT_RULES: Mapping[SlotKind, tuple[Callable[[str], bool], str]] = {
    "label": (hostnames.is_host_label, "a single DNS label (letters, digits, inner hyphens)"),
    "domain": (hostnames.is_public_dns_name, "a public DNS name"),
    "host": (hostnames.is_public_dns_name, "a public DNS name (no scheme, port or path)"),
    "origin": (
        lambda v: hostnames.public_https_origin(v) is not None,
        "an https URL on a public DNS name, with no port, path, query or credentials",
    ),
    "path": (hostnames.is_path_value, "a path segment without '/', '?', '#', '%', '\\' or '..'"),
    "query": (hostnames.is_query_value, "letters, digits, '-', '.', '_' or '~'"),
}


class TemplateSyntaxError(ValueError):
    """A catalog URL or value template that Passway cannot render safely."""


def split_template(template: str) -> Iterator[tuple[bool, str]]:
    """``(is_variable, text)`` pieces of ``template``; raises on any other ``{{``/``}}`` use."""
    position = 0
    for match in _VARIABLE.finditer(template):
        yield from _literal(template[position : match.start()])
        yield True, match.group(1)
        position = match.end()
    yield from _literal(template[position:])


def _literal(text: str) -> Iterator[tuple[bool, str]]:
    if "{{" in text or "}}" in text:
        raise TemplateSyntaxError(
            f"unsupported template syntax in {text!r}: only {{{{.name}}}} is allowed"
        )
    if text:
        yield False, text


FALLBACK = "||"


def alternatives(template: str) -> tuple[str, ...]:
    """The alternatives of ``A || B`` (stripped), or ``(template,)``."""
    if FALLBACK not in template:
        return (template,)
    parts = tuple(part.strip() for part in template.split(FALLBACK))
    if not all(parts):
        raise TemplateSyntaxError(f"an empty alternative in {template!r}")
    return parts


def choose_alternative(template: str, values: Mapping[str, str]) -> str:
    """The alternative of ``template`` to render with ``values`` (see the module docstring)."""
    options = alternatives(template)
    for option in options[:-1]:
        if all(values.get(name) for name in template_variables(option)):
            return option
    return options[-1]


@lru_cache(maxsize=1024)
def template_variables(template: str) -> tuple[str, ...]:
    """The distinct variable names of ``template``, in order of first use."""
    names = [text for is_var, text in split_template(template) if is_var]
    return tuple(dict.fromkeys(names))


@dataclass(frozen=True, slots=True)
class UrlTemplate:
    """A parsed URL template: each variable's slots, and the literal origin when there is one."""

    template: str
    slots: Mapping[str, tuple[SlotKind, ...]]
    # ``scheme://host[:port]`` when no variable sits before the path, else None.
    literal_origin: str | None


@lru_cache(maxsize=1024)
def parse_url_template(template: str) -> UrlTemplate:
    """Find each variable's slot. Raises ``TemplateSyntaxError`` for templates we cannot make safe:
    a variable in the scheme or port, credentials in the authority, a fragment, or a variable that
    ends the host after part of a label."""
    tokens = list(split_template(template))
    slots: dict[str, list[SlotKind]] = {}

    def add(name: str, kind: SlotKind) -> None:
        slots.setdefault(name, [])
        if kind not in slots[name]:
            slots[name].append(kind)

    index = 0
    authority_has_var = False
    if tokens and tokens[0][0]:
        add(tokens[0][1], "origin")
        authority_has_var = True
        index = 1
        state = "path"
        if len(tokens) > 1 and not tokens[1][1].startswith(("/", "?")):
            raise TemplateSyntaxError(
                "a variable at the start of a URL must stand for the whole origin"
            )
    else:
        first = tokens[0][1] if tokens else ""
        scheme = SCHEME.match(first)
        if scheme is None:
            raise TemplateSyntaxError("a URL must start with scheme:// or an origin variable")
        tokens[0] = (False, first[scheme.end() :])
        state = "host"
    host_so_far = ""
    for position in range(index, len(tokens)):
        is_var, text = tokens[position]
        if is_var:
            if state == "host":
                authority_has_var = True
                following = tokens[position + 1] if position + 1 < len(tokens) else None
                if following is not None and (following[0] or following[1][0] not in "/?#:"):
                    add(text, "label")
                elif host_so_far == "":
                    add(text, "host")
                elif host_so_far.endswith("."):
                    add(text, "domain")
                else:
                    raise TemplateSyntaxError(
                        f"{{{{.{text}}}}} ends the host after a partial label"
                    )
                host_so_far += "x"
            elif state == "port":
                raise TemplateSyntaxError(f"{{{{.{text}}}}} may not fill the port")
            else:
                add(text, "path" if state == "path" else "query")
            continue
        for char in text:
            if state == "ipv6":
                state = "host" if char == "]" else "ipv6"
                host_so_far += char
                continue
            if state == "host":
                if char == "[" and host_so_far == "":
                    state = "ipv6"
                    host_so_far += char
                    continue
                if char == "@":
                    raise TemplateSyntaxError("credentials in a URL template are not allowed")
                if char == ":":
                    state = "port"
                    continue
                if char in "/?#":
                    state = "path"
                else:
                    host_so_far += char
                    continue
            if state == "port" and char.isdigit():
                continue
            if state == "port":
                if char not in "/?#":
                    raise TemplateSyntaxError("the port of a URL template must be digits")
                state = "path"
            if char == "#":
                raise TemplateSyntaxError("a URL template may not have a fragment")
            if char == "?":
                state = "query"
    origin = None
    if not authority_has_var:
        literal = "".join(text for _, text in split_template(template))
        origin = _origin_of(literal)
    return UrlTemplate(template, {k: tuple(v) for k, v in slots.items()}, origin)


def _origin_of(url: str) -> str:
    scheme_end = url.index("://") + 3
    end = len(url)
    for separator in "/?#":
        found = url.find(separator, scheme_end)
        if found != -1:
            end = min(end, found)
    return url[:end]


def slot_issue(name: str, kind: SlotKind, value: str) -> str | None:
    """Why ``value`` may not fill variable ``name`` in a ``kind`` slot, or None if it may."""
    check, rule = SLOT_RULES[kind]
    if check(value):
        return None
    return f"{name!r} must be {rule} where the provider's URL uses it"


def host_pattern(template: str) -> re.Pattern[str] | None:
    """A regex of the template's host with ``workspace`` captured, or None if it has none."""
    try:
        tokens = list(split_template(template))
    except TemplateSyntaxError:
        return None
    if not tokens or tokens[0][0]:
        return None
    pieces: list[str] = []
    first = True
    for is_var, text in tokens:
        if is_var:
            pieces.append(
                "(?P<workspace>[A-Za-z0-9-]+)" if text == "workspace" else "[A-Za-z0-9.-]+"
            )
            continue
        if first:
            scheme = SCHEME.match(text)
            text = text[scheme.end() :] if scheme else text
        first = False
        end = min((i for i in (text.find(c) for c in "/?#:") if i != -1), default=-1)
        pieces.append(re.escape(text if end == -1 else text[:end]))
        if end != -1:
            break
    pattern = "".join(pieces)
    if "(?P<workspace>" not in pattern:
        return None
    return re.compile(pattern, re.IGNORECASE)
