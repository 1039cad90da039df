"""Every setting as a command-line flag, and where each setting in force came from.

``SETTINGS`` lists every ``Settings`` field with its flag's type and a short help; ``serve`` and
``config`` take them all (``settings_options``), except the secrets, which a flag would show to
anyone listing processes: those come from the environment only. ``settings_sources`` tells for each
field whether a flag, a ``PASSWAY_*`` variable or the default set it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

import click

from passway.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])
Kind = Literal["str", "int", "optional-int", "float", "bool", "list", "path"]
Source = Literal["flag", "env", "default"]
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


@dataclass(frozen=True, slots=True)
class SettingSpec:
    name: str
    kind: Kind
    help: str
    secret: bool = False

    @property
    def env(self) -> str:
        return f"PASSWAY_{self.name.upper()}"

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


_LISTED: tuple[SettingSpec, ...] = (
    SettingSpec("host", "str", "Address to listen on."),
    SettingSpec("port", "int", "Port to listen on."),
    SettingSpec("proxy_port", "optional-int", "Also serve proxy calls on this port (no uvicorn)."),
    SettingSpec("workers", "int", "Worker processes."),
    SettingSpec("data_dir", "path", "Where the SQLite database and key file live."),
    SettingSpec("database_url", "str", "Database URL (default: SQLite in the data dir)."),
    SettingSpec("encryption_keys", "list", "kid:base64key,... (newest last).", secret=True),
    SettingSpec("key_file", "path", "Encryption key file (default: <data dir>/encryption.keys)."),
    SettingSpec("admin_api_key", "str", "Operator key.", secret=True),
    SettingSpec("public_url", "str", "Base of the OAuth redirect URI."),
    SettingSpec("catalog_file", "path", "Operator catalog file adding or overriding providers."),
    SettingSpec("egress_allow", "list", "Private hosts, *.suffix, addresses or CIDRs to allow."),
    SettingSpec("connect_timeout", "float", "Upstream connect timeout (seconds)."),
    SettingSpec("read_timeout", "float", "Upstream read timeout (seconds)."),
    SettingSpec("max_timeout", "float", "Cap on x-amp-timeout-seconds."),
    SettingSpec("refresh_margin", "float", "Refresh tokens expiring within this many seconds."),
    SettingSpec("refresh_cooldown", "float", "Pause after a failed refresh (seconds)."),
    SettingSpec("refresh_lease_ttl", "float", "A refresh lease older than this is abandoned."),
    SettingSpec("replay_buffer_limit", "int", "Bodies up to this size are replayable after 401."),
    SettingSpec("cache_poll_interval", "float", "How often workers read the change feed."),
    SettingSpec("upstream_pool_size", "int", "Pooled upstream connections per worker."),
    SettingSpec("keep_alive_timeout", "float", "Seconds an idle client connection stays open."),
    SettingSpec("oauth_state_ttl", "float", "Lifetime of an OAuth connect link (seconds)."),
    SettingSpec("redis_url", "str", "Share throttle windows, cooldowns, invalidation via Redis."),
    SettingSpec("redis_key_prefix", "str", "Namespace of Passway's Redis keys."),
    SettingSpec("log_level", "str", "critical, error, warning, info, debug or trace."),
    SettingSpec("access_log", "bool", "Log one line per request."),
)

_SECRET_SUFFIXES = ("_secret", "_password", "_token", "_api_key")


def _settings_fields() -> dict[str, str]:
    """Every ``Settings`` field with its annotation as text."""
    return {name: str(info.annotation) for name, info in Settings.model_fields.items()}


def _kind(annotation: str) -> Kind:
    text = annotation.replace("typing.", "").replace("pathlib.", "")
    if "bool" in text:
        return "bool"
    if "tuple" in text or "list" in text:
        return "list"
    if "Path" in text:
        return "path"
    if "int" in text:
        return "optional-int" if "None" in text else "int"
    if "float" in text:
        return "float"
    return "str"


def _all_settings() -> tuple[SettingSpec, ...]:
    """The listed settings, then any other ``Settings`` field (a setting added without a line in
    ``_LISTED`` still gets its flag, with its kind read from its annotation)."""
    listed = {spec.name for spec in _LISTED}
    extra = tuple(
        SettingSpec(
            name, _kind(annotation), "See the README.", secret=name.endswith(_SECRET_SUFFIXES)
        )
        for name, annotation in _settings_fields().items()
        if name not in listed
    )
    return _LISTED + extra


SETTINGS: tuple[SettingSpec, ...] = _all_settings()

_CLICK_TYPES: dict[Kind, Any] = {
    "str": str,
    "int": int,
    "optional-int": int,
    "float": float,
    "list": str,
    "path": click.Path(path_type=Path),
}


def settings_options(command: F) -> F:
    """Add a flag for every non-secret setting; the values arrive as ``setting_<name>``."""
    for spec in reversed(SETTINGS):
        if spec.secret:
            continue
        help_text = f"{spec.help} ({spec.env})"
        if spec.kind == "bool":
            name = spec.flag[2:]
            option = click.option(
                f"--{name}/--no-{name}", f"setting_{spec.name}", default=None, help=help_text
            )
        else:
            option = click.option(
                spec.flag, f"setting_{spec.name}", type=_CLICK_TYPES[spec.kind], help=help_text
            )
        command = option(command)
    return command


def flag_values(options: Mapping[str, Any]) -> dict[str, Any]:
    """The settings given as flags (from ``settings_options``), as ``Settings`` field values."""
    values: dict[str, Any] = {}
    for key, value in options.items():
        if not key.startswith("setting_") or value is None:
            continue
        name = key[len("setting_") :]
        spec = next(s for s in SETTINGS if s.name == name)
        if spec.kind == "list":
            value = tuple(part.strip() for part in str(value).split(",") if part.strip())
        values[name] = value
    return values


def settings_sources(
    environ: Mapping[str, str], flags: Mapping[str, Any]
) -> dict[str, tuple[Source, str]]:
    """For each setting: where its value came from, and the flag or variable that set it."""
    sources: dict[str, tuple[Source, str]] = {}
    for spec in SETTINGS:
        if spec.name in flags:
            sources[spec.name] = ("flag", spec.flag)
        elif spec.env in environ:
            sources[spec.name] = ("env", spec.env)
        else:
            sources[spec.name] = ("default", "")
    return sources


def text_value(value: Any) -> str:
    """A setting's value as its ``PASSWAY_*`` variable would spell it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return ",".join(str(v) for v in value)
    return str(value)


def settings_environment(settings: Settings) -> dict[str, str]:
    """The ``PASSWAY_*`` variables that reproduce ``settings`` (for worker processes); a setting
    that is None (off) is left out, as its variable was."""
    return {
        spec.env: text_value(value)
        for spec in SETTINGS
        if (value := getattr(settings, spec.name)) is not None
    }


def shown_value(spec: SettingSpec, value: Any) -> str:
    """A setting's value for display: secrets masked, passwords in URLs hidden."""
    text = text_value(value)
    if spec.secret:
        if not text:
            return "(unset)"
        count = len(value) if isinstance(value, tuple) else 1
        return (
            f"******** ({count} key{'s' if count != 1 else ''})"
            if spec.kind == "list"
            else ("********")
        )
    if spec.name in ("database_url", "redis_url") and text:
        return mask_url_password(text)
    return text


def mask_url_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:****@{host}"))


def check_log_level(settings: Settings) -> str | None:
    """What is wrong with ``log_level``, or None."""
    if settings.log_level.lower() in LOG_LEVELS:
        return None
    return f"PASSWAY_LOG_LEVEL / --log-level: {settings.log_level!r} is not one of " + ", ".join(
        LOG_LEVELS
    )
