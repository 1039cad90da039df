"""amp.yaml: parse and validate a deployment file against the catalog (pure: text in, specs out).

Every problem found becomes one ``Issue`` whose ``name`` is the path of the field in the file
(``specVersion``, ``integrations[1].provider``, ...), and all of them are reported at once in
one ``InvalidAmpYaml``, so a developer fixes the file in one round. ``read``, ``write`` and
``subscribe`` are accepted and kept with the integration, but Passway only acts on ``proxy``: the
result carries a warning saying so, and one for any key it does not know.

The file is untrusted text, so loading is bounded: nesting deeper than ``MAX_DEPTH`` (PyYAML
composes recursively) and more than ``MAX_VALUES`` values once aliases are expanded (a "billion
laughs" file is small but expands exponentially, and an alias may even contain itself) are refused.
What is kept is plain JSON data: keys become strings, and values JSON has no type for (dates,
``.nan``, ``!!binary``, ``!!set``) become their text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import yaml

from passway.core.provider import Provider, ProviderLookup
from passway.core.target import module_issues
from passway.errors import InvalidAmpYaml, Issue

SPEC_VERSION = "1.0.0"
MAX_DEPTH = 32
MAX_VALUES = 100_000
NAME_PATTERN = re.compile(r"^[a-z0-9_-]{1,64}$")
DISPLAY_NAME_MAX = 100
ACTIONS = ("read", "write", "subscribe", "proxy")
NOT_RUN_ACTIONS = ("read", "write", "subscribe")
KNOWN_KEYS = frozenset({"name", "displayName", "provider", "module", *ACTIONS})


@dataclass(frozen=True, slots=True)
class IntegrationSpec:
    """One validated integration. ``spec`` is its amp.yaml entry as JSON-safe data."""

    name: str
    display_name: str | None
    provider: str
    module: str | None
    proxy_enabled: bool
    use_module: bool
    spec: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class AmpFile:
    integrations: tuple[IntegrationSpec, ...]
    warnings: tuple[str, ...]


def parse_amp_yaml(text: str, catalog: ProviderLookup) -> AmpFile:
    """Validate ``text`` as amp.yaml. Raises ``InvalidAmpYaml`` listing every problem found."""
    document = _load(text)
    issues: list[Issue] = []
    if not isinstance(document, dict):
        raise InvalidAmpYaml(
            "amp.yaml must be a mapping with specVersion and integrations.",
            issues=[_issue("", "the document must be a YAML mapping")],
        )
    version = document.get("specVersion")
    if version is None:
        issues.append(_issue("specVersion", "required"))
    elif str(version) != SPEC_VERSION or not isinstance(version, str):
        issues.append(_issue("specVersion", f"must be {SPEC_VERSION}", _scalar(version)))
    entries = document.get("integrations")
    specs: list[IntegrationSpec] = []
    warnings: list[str] = []
    if not isinstance(entries, list) or not entries:
        issues.append(_issue("integrations", "required: a list of at least one integration"))
        entries = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        spec = _integration(f"integrations[{index}]", entry, catalog, seen, issues, warnings)
        if spec is not None:
            specs.append(spec)
    if issues:
        raise InvalidAmpYaml(f"amp.yaml has {len(issues)} problem(s).", issues=issues)
    return AmpFile(tuple(specs), tuple(warnings))


class _BoundedLoader(yaml.SafeLoader):
    """``SafeLoader`` that refuses nesting deeper than ``MAX_DEPTH`` before the stack runs out."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]  # untyped stub
                problem = f"nested deeper than {MAX_DEPTH} levels"
                raise yaml.composer.ComposerError(None, None, problem, mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _TooLarge(Exception):
    pass


def _load(text: str) -> Any:
    try:
        loaded = yaml.load(text, Loader=_BoundedLoader)  # noqa: S506 - a SafeLoader subclass
        return _plain(loaded, [MAX_VALUES], 0)
    except _TooLarge:
        detail = (
            f"more than {MAX_VALUES} values or deeper than {MAX_DEPTH} levels "
            "once aliases are expanded"
        )
        raise InvalidAmpYaml(
            f"amp.yaml is too large: {detail}.", issues=[Issue("body", "sourceYaml", detail)]
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        raise InvalidAmpYaml(
            f"amp.yaml is not valid YAML{where}: {problem}.",
            issues=[Issue("body", "sourceYaml", f"YAML syntax error{where}: {problem}")],
        ) from None


def _plain(value: Any, budget: list[int], depth: int) -> Any:
    """``value`` as JSON data, counting every value against ``budget[0]`` (aliases included)."""
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH:
        raise _TooLarge
    if isinstance(value, dict):
        return {_key(k): _plain(v, budget, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(item, budget, depth + 1) for item in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, set):  # !!set: its members, in a stable order
        return sorted(_key(item) for item in value)
    return str(value)


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


def _integration(
    path: str,
    entry: Any,
    catalog: ProviderLookup,
    seen: set[str],
    issues: list[Issue],
    warnings: list[str],
) -> IntegrationSpec | None:
    if not isinstance(entry, dict):
        issues.append(_issue(path, "each integration must be a mapping"))
        return None
    before = len(issues)
    name = entry.get("name")
    if name is None:
        issues.append(_issue(f"{path}.name", "required"))
    elif not isinstance(name, str) or not NAME_PATTERN.match(name):
        issues.append(
            _issue(
                f"{path}.name",
                "1-64 characters: lowercase letters, digits, '-' and '_'",
                _scalar(name),
            )
        )
    elif name in seen:
        issues.append(_issue(f"{path}.name", "duplicate integration name", name))
    else:
        seen.add(name)
    display_name = entry.get("displayName")
    if display_name is not None and (
        not isinstance(display_name, str) or len(display_name) > DISPLAY_NAME_MAX
    ):
        issues.append(
            _issue(f"{path}.displayName", f"a string of at most {DISPLAY_NAME_MAX} chars")
        )
    provider = _provider(f"{path}.provider", entry.get("provider"), catalog, issues)
    if not any(action in entry for action in ACTIONS):
        issues.append(_issue(path, "declare at least one of read, write, subscribe, proxy"))
    module = entry.get("module")
    if module is not None and not isinstance(module, str):
        issues.append(_issue(f"{path}.module", "must be a string", _scalar(module)))
        module = None
    proxy_enabled, use_module = _proxy(path, entry, provider, issues)
    if provider is not None:
        # One rule for modules, shared with the proxy's base URL selection.
        for issue in module_issues(provider, module, use_module and provider.support.proxy):
            issues.append(replace(issue, name=f"{path}.{issue.name}"))
    unused = [a for a in NOT_RUN_ACTIONS if a in entry]
    if unused:
        warnings.append(
            f"{path} ({name}): {', '.join(unused)} accepted and stored, but not run by Passway "
            "(only proxy is)."
        )
    unknown = sorted(str(k) for k in entry if k not in KNOWN_KEYS)
    if unknown:
        warnings.append(f"{path} ({name}): unknown keys ignored: {', '.join(unknown)}.")
    if len(issues) > before or provider is None:
        return None
    return IntegrationSpec(
        name=str(name),
        display_name=display_name,
        provider=provider.name,
        module=module,
        proxy_enabled=proxy_enabled,
        use_module=use_module,
        spec=entry,
    )


def _provider(
    path: str, value: Any, catalog: ProviderLookup, issues: list[Issue]
) -> Provider | None:
    if value is None:
        issues.append(_issue(path, "required"))
        return None
    provider = catalog.get(value) if isinstance(value, str) else None
    if provider is None:
        issues.append(
            _issue(path, "not a provider in the catalog (GET /v1/providers)", _scalar(value))
        )
    return provider


def _proxy(
    path: str,
    entry: Mapping[str, Any],
    provider: Provider | None,
    issues: list[Issue],
) -> tuple[bool, bool]:
    """``(enabled, useModule)`` of the ``proxy`` section, checked against the provider."""
    if "proxy" not in entry:
        return False, False
    proxy = entry["proxy"] if entry["proxy"] is not None else {}
    if not isinstance(proxy, dict):
        issues.append(_issue(f"{path}.proxy", "must be a mapping (enabled, useModule)"))
        return False, False
    enabled = _bool(f"{path}.proxy.enabled", proxy.get("enabled", False), issues)
    use_module = _bool(f"{path}.proxy.useModule", proxy.get("useModule", False), issues)
    if provider is None:
        return enabled, use_module
    if not provider.support.proxy:
        issues.append(_issue(f"{path}.proxy", f"provider {provider.name} does not support proxy"))
    return enabled, use_module


def _bool(path: str, value: Any, issues: list[Issue]) -> bool:
    if isinstance(value, bool):
        return value
    issues.append(_issue(path, "must be true or false", _scalar(value)))
    return False


def _issue(name: str, detail: str, value: Any = None) -> Issue:
    return Issue("body", name, detail, value)


def _scalar(value: Any) -> Any:
    """The offending value for the issue, only if it is a plain scalar (never a whole structure)."""
    if isinstance(value, str | int | float | bool):
        return value if not isinstance(value, str) else value[:200]
    return None
