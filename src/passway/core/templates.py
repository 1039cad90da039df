"""Provider URL templates filled per connection, safely.

A missing or empty value is an error naming the variable (``TemplateVariableMissing``), never an
empty string. A value breaking the rule of the slot it fills (see ``template_syntax``) is refused at
connection creation (``check_connection_values``) and again at render time (``render_url``,
``InvalidTarget``), so no value can change the scheme, host or port of a provider URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING

from passway.core import hostnames
from passway.core.template_syntax import (
    SlotKind,
    TemplateSyntaxError,
    alternatives,
    choose_alternative,
    host_pattern,
    parse_url_template,
    slot_issue,
    split_template,
    template_variables,
)
from passway.errors import InvalidTarget, Issue, TemplateVariableMissing

if TYPE_CHECKING:
    from passway.core.provider import Provider
    from passway.records import Connection

__all__ = [
    "TemplateSyntaxError",
    "check_connection_values",
    "connection_template_values",
    "metadata_value_issues",
    "missing_variables",
    "render_template",
    "render_url",
    "template_values",
    "template_variables",
    "url_templates",
    "workspace_ref_from_token_value",
]


def render_template(template: str, values: Mapping[str, str]) -> str:
    """Fill every variable; a missing or empty value raises ``TemplateVariableMissing``.

    No rule about the values is applied: use ``render_url`` for URLs. Header and query templates of
    custom auth go through here (their values are then encoded by whoever places them).
    """
    parts: list[str] = []
    for is_var, text in split_template(template):
        parts.append(_value(text, values) if is_var else text)
    return "".join(parts)


def _value(name: str, values: Mapping[str, str]) -> str:
    value = values.get(name)
    if not value:
        raise TemplateVariableMissing(
            f"The template variable {name!r} has no value for this connection.",
            context={"variable": name},
        )
    return value


def render_url(template: str, values: Mapping[str, str]) -> str:
    """Render a URL template, refusing any value that breaks its slot's rule (``InvalidTarget``).
    Of ``A || B`` the alternative ``choose_alternative`` picks is rendered."""
    parsed = parse_url_template(choose_alternative(template, values))
    filled: dict[str, str] = {}
    for name, kinds in parsed.slots.items():
        value = _value(name, values)
        for kind in kinds:
            problem = slot_issue(name, kind, value)
            if problem is not None:
                raise InvalidTarget(
                    f"The connection's value for {problem}.", context={"variable": name}
                )
        if "origin" in kinds:
            value = hostnames.public_https_origin(value) or value
        filled[name] = value
    return render_template(parsed.template, filled)


def url_templates(provider: Provider) -> Iterator[tuple[str, str]]:
    """``(field, template)`` for every URL of ``provider`` that may hold variables; each
    alternative of an ``A || B`` URL is given on its own."""
    for field, url in _whole_url_templates(provider):
        try:
            options = alternatives(url)
        except TemplateSyntaxError:
            options = (url,)
        for option in options:
            yield field, option


def _whole_url_templates(provider: Provider) -> Iterator[tuple[str, str]]:
    yield "baseURL", provider.base_url
    for module in provider.modules.values():
        yield f"modules.{module.name}.baseURL", module.base_url
    for field, url in (
        ("authURL", provider.auth_url),
        ("tokenURL", provider.token_url),
        ("authHealthCheckURL", provider.auth_health_check_url),
    ):
        if url:
            yield field, url
    if provider.token_request is not None:
        yield "tokenRequest.url", provider.token_request.url


def missing_variables(provider: Provider, supplied: set[str]) -> list[str]:
    """The variables a URL of ``provider`` needs and ``supplied`` lacks, in catalog order.

    A URL with alternatives needs nothing when one of them is complete, else what its last
    alternative lacks (the one ``render_url`` would then use).
    """
    missing: dict[str, None] = {}
    values = [h.value_template for h in provider.proxy_headers]
    values += [q.value_template for q in provider.proxy_query_params]
    for url in [url for _, url in _whole_url_templates(provider)] + values:
        try:
            options = alternatives(url)
        except TemplateSyntaxError:
            continue
        if any(set(template_variables(option)) <= supplied for option in options):
            continue
        lacking = [v for v in template_variables(options[-1]) if v not in supplied]
        missing.update(dict.fromkeys(lacking))
    ordered = [v for v in provider.template_vars if v in missing]
    return ordered + [v for v in missing if v not in ordered]


@lru_cache(maxsize=512)
def _value_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def metadata_value_issues(provider: Provider, values: Mapping[str, str]) -> list[tuple[str, str]]:
    """``(name, problem)`` for each value breaking its metadata input's ``pattern`` or ``enum``.

    The whole value must match the pattern (``fullmatch``), so a trailing newline or anything
    after a ``$`` anchor is refused. Absent values are not checked here.
    """
    problems: list[tuple[str, str]] = []
    for item in provider.metadata_inputs:
        value = values.get(item.name)
        if not value:
            continue
        if item.enum and value not in item.enum:
            problems.append((item.name, f"{item.name} must be one of {', '.join(item.enum)}"))
        elif item.pattern is not None and _value_pattern(item.pattern).fullmatch(value) is None:
            problems.append((item.name, f"{item.name} must match {item.pattern}"))
    return problems


def connection_template_values(provider: Provider, connection: Connection) -> dict[str, str]:
    """The values a connection gives its provider's templates.

    Precedence, highest first: ``workspace`` from ``providerWorkspaceRef``; ``providerMetadata``
    values (whatever their source: input, token, provider); the catalog's metadata input defaults.
    When the token response's workspace field is itself a template variable (Gong's
    ``api_base_url_for_customer``), the workspace ref fills it too if the metadata does not.
    """
    return template_values(
        provider,
        connection.provider_workspace_ref,
        {name: item.value for name, item in connection.provider_metadata.items()},
    )


def template_values(
    provider: Provider, workspace_ref: str | None, metadata: Mapping[str, str]
) -> dict[str, str]:
    """``connection_template_values`` over plain values (also used before a connection exists)."""
    values = {m.name: m.default_value for m in provider.metadata_inputs if m.default_value}
    values.update({name: value for name, value in metadata.items() if value})
    if workspace_ref:
        tmf = provider.token_metadata_fields
        if tmf is not None and tmf.workspace_ref_field and tmf.workspace_ref_field != "workspace":
            values.setdefault(tmf.workspace_ref_field, workspace_ref)
        values["workspace"] = workspace_ref
    return values


def check_connection_values(
    provider: Provider, workspace_ref: str | None, metadata: Mapping[str, str]
) -> list[Issue]:
    """Issues for every value a new connection gives that breaks the rule of a slot it would fill.

    Missing values are not issues here (they may come later from the token response); they are
    reported when a URL is rendered.
    """
    values = template_values(provider, workspace_ref, metadata)
    issues: list[Issue] = []
    reported: set[str] = set()
    for name, problem in metadata_value_issues(provider, values) + _header_value_issues(
        provider, values
    ):
        if name in reported:
            continue
        reported.add(name)
        field = "providerWorkspaceRef" if name == "workspace" and workspace_ref else None
        issues.append(Issue("body", field or f"providerMetadata.{name}", problem, values[name]))
    for _, template in url_templates(provider):
        try:
            parsed = parse_url_template(template)
        except TemplateSyntaxError:
            continue
        for name, kinds in parsed.slots.items():
            value = values.get(name)
            if not value or name in reported:
                continue
            problems = [p for p in (slot_issue(name, k, value) for k in kinds) if p is not None]
            if problems:
                reported.add(name)
                field = (
                    "providerWorkspaceRef"
                    if name == "workspace" and workspace_ref
                    else f"providerMetadata.{name}"
                )
                issues.append(Issue("body", field, problems[0], value))
    return issues


def _header_value_issues(provider: Provider, values: Mapping[str, str]) -> list[tuple[str, str]]:
    """Values that would go in a ``proxyHeaders`` header may hold no control characters."""
    problems: list[tuple[str, str]] = []
    for header in provider.proxy_headers:
        for name in template_variables(header.value_template):
            value = values.get(name)
            if value and any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
                problems.append((name, f"{name} goes in a header: no control characters"))
    return problems


def workspace_ref_from_token_value(provider: Provider, value: str) -> str | None:
    """The ``providerWorkspaceRef`` to store for a workspace value captured from a token response.

    Token responses often give a whole URL where the template wants one label: Salesforce's
    ``instance_url`` is ``https://acme.my.salesforce.com`` while its base URL is
    ``https://{{.workspace}}.my.salesforce.com``. When the value does not fit the workspace's slots
    as it is, a URL (or host) whose host matches a template's host pattern gives its label
    (``acme``), and an https URL gives its host where the whole host is templated. Returns None when
    nothing safe can be derived (the caller then stores no workspace; rendering will say it is
    missing). A workspace no URL uses is returned unchanged.
    """
    value = value.strip()
    kinds = _workspace_kinds(provider)
    if all(slot_issue("workspace", k, value) is None for k in kinds):
        return hostnames.public_https_origin(value) or value if "origin" in kinds else value
    host = _host_of(value)
    if host is None:
        return None
    candidates = [host]
    for _, template in url_templates(provider):
        pattern = host_pattern(template)
        match = pattern.fullmatch(host) if pattern is not None else None
        if match is not None:
            candidates.append(match.group("workspace"))
    for candidate in candidates:
        if all(slot_issue("workspace", k, candidate) is None for k in kinds):
            return candidate
    return None


def _workspace_kinds(provider: Provider) -> set[SlotKind]:
    kinds: set[SlotKind] = set()
    for _, template in url_templates(provider):
        try:
            kinds.update(parse_url_template(template).slots.get("workspace", ()))
        except TemplateSyntaxError:
            continue
    return kinds


def _host_of(value: str) -> str | None:
    if "://" in value:
        origin = hostnames.public_https_origin(
            value.split("/", 3)[0] + "//" + value.split("/", 3)[2]
        )
        return origin[len("https://") :] if origin else None
    return value if hostnames.is_dns_name(value) else None
