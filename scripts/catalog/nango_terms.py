"""The vocabulary of the Nango conversion: an entry converted or refused (with its reason), the
source's template variables written as Passway's, and the checks both converters share
(``nango_entries`` for the plain auth modes, ``nango_two_step`` for a token fetched first).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# Fields of the source that do not change what a proxied request or the token requests look like.
PROXY_IGNORED = {"retry", "verification", "decompress", "forwardHeadersOnRedirect"}
LATER_SOURCES = {"redirectUri", "postConnection", "webhookResponse", "refreshTokenResponse"}
_VAR = re.compile(r"\$\{([^{}]*)\}")
_CC_VAR = re.compile(r"connectionConfig\.([A-Za-z0-9_.-]+)\Z")
BASIC_HELPER = re.compile(
    r"Basic \$\{base64\(\$\{credentials\.([A-Za-z0-9_]+)\}:\$\{credentials\.([A-Za-z0-9_]+)\}\)\}"
)
_CRED_VAR = re.compile(r"credentials\.([A-Za-z][A-Za-z0-9_]*)\Z")
_PASSWAY_VAR = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")


class Refused(Exception):
    """The entry cannot be converted faithfully; the message is the reason in the report."""


@dataclass
class Converted:
    entry: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def camel_name(key: str) -> str:
    """``google-calendar`` -> ``googleCalendar``; the catalog's naming style."""
    parts = [p for p in re.split(r"[^A-Za-z0-9]+", key) if p]
    return parts[0].lower() + "".join(p[:1].upper() + p[1:] for p in parts[1:])


def normalised(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def variable_name(source: str) -> str:
    """A Passway template variable for a source connection-config name (``-``/``.`` -> ``_``)."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", source)
    if not _PASSWAY_VAR.match(name):
        raise Refused(f"connection-config name {source!r} cannot be a template variable")
    return name


class TemplateConverter:
    """Turns ``${connectionConfig.x}`` templates into ``{{.x}}`` and records the variables."""

    def __init__(self) -> None:
        self.used: dict[str, str] = {}  # passway name -> source name
        self.secrets: dict[str, str] = {}  # credential inputs used (two-step entries)
        self.kinds: set[str] = set()  # what the last convert() used: config, credentials, token

    def convert(
        self, template: str, where: str, *, allow_fallback: bool = True, secrets: bool = False
    ) -> str:
        if "||" in template and not allow_fallback:
            raise Refused(f"{where}: alternatives (||) are not supported there")
        self.kinds = set()
        pieces = [p.strip() for p in template.split("||")] if "||" in template else [template]
        return " || ".join(self._one(piece, where, secrets) for piece in pieces)

    def _one(self, template: str, where: str, secrets: bool) -> str:
        if "{{" in template or "}}" in template:
            raise Refused(f"{where}: literal braces in {template!r}")
        helper = re.search(r"\$\{([A-Za-z0-9]+)\(", template)
        if helper is not None:
            raise Refused(f"{where}: {helper.group(1)}(...) has no Passway equivalent")

        def replace(match: re.Match[str]) -> str:
            inner = match.group(1)
            found = _CC_VAR.match(inner)
            credential = _CRED_VAR.match(inner) if secrets else None
            if secrets and inner == "accessToken":
                self.kinds.add("token")
                return "{{.accessToken}}"
            if credential is not None:
                name = variable_name(credential.group(1))
                self.secrets[name] = credential.group(1)
                self.kinds.add("credentials")
                return "{{." + name + "}}"
            if found is None:
                raise Refused(f"{where}: {match.group(0)} has no Passway equivalent")
            name = variable_name(found.group(1))
            self.used[name] = found.group(1)
            self.kinds.add("config")
            return "{{." + name + "}}"

        out = _VAR.sub(replace, template)
        if "${" in out:
            raise Refused(f"{where}: nested or unclosed template in {template!r}")
        return out


def template_variables(template: str | None) -> list[str]:
    return re.findall(r"\{\{\.([A-Za-z_][A-Za-z0-9_]*)\}\}", template or "")


def metadata_fields(
    p: dict[str, Any], t: TemplateConverter
) -> tuple[list[dict[str, Any]], list[dict[str, str]], set[str]]:
    """Metadata inputs (with pattern/enum), token-response fields, and values only filled later."""
    config = {c["name"]: c for c in p.get("connectionConfig") or []}
    inputs: list[dict[str, Any]] = []
    token_fields: list[dict[str, str]] = []
    later: set[str] = set()
    for name in sorted(t.used):
        source = t.used[name]
        spec = config.get(source, {})
        origins = set(spec.get("obtainedFrom") or ())
        declared = spec.get("declared", True) and bool(spec)
        if "tokenResponse" in origins:
            token_fields.append({"name": name, "path": source})
        if origins & LATER_SOURCES and not declared:
            later.add(name)
        if not declared and "tokenResponse" in origins:
            continue
        item: dict[str, Any] = {"name": name}
        if spec.get("default") is not None:
            item["defaultValue"] = str(spec["default"])
        if spec.get("pattern"):
            try:
                re.compile(spec["pattern"])
            except re.error as exc:
                raise Refused(f"pattern of {source} is not expressible: {exc}") from None
            item["pattern"] = spec["pattern"]
        if spec.get("enum"):
            item["enum"] = [str(v) for v in spec["enum"]]
        inputs.append(item)
    return inputs, token_fields, later


def check_later_values(entry: dict[str, Any], later: set[str]) -> None:
    """A URL that needs a value only the source's own machinery fills (its callback query, its
    scripts) cannot work, unless another alternative of that URL does without it."""
    for key in ("baseURL", "authURL", "tokenURL"):
        template = entry.get(key)
        if not template:
            continue
        options = [o.strip() for o in template.split("||")]
        if all(set(template_variables(o)) & later for o in options):
            needed = sorted(set(template_variables(template)) & later)
            raise Refused(f"{key} needs {needed}, which only the source's own flow fills in")


# --- selection ---------------------------------------------------------------------------------


@dataclass
class Plan:
    converted: dict[str, Converted] = field(default_factory=dict)  # source key -> entry
    aliases: dict[str, str] = field(default_factory=dict)  # alias -> provider name
    alias_reason: dict[str, str] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    beside: dict[str, str] = field(default_factory=dict)  # source key -> curated name
    same_name: set[str] = field(default_factory=set)  # source keys spelled like the provider
