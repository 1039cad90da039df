"""Settings, read once from ``PASSWAY_*`` variables and CLI flags into one frozen object.

Nothing else in the package reads the environment: the composition root (``bootstrap``) receives a
``Settings`` and hands the relevant parts to whatever needs them.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from passway.errors import ConfigurationError

_PREFIX = "PASSWAY_"


def _default_data_dir() -> Path:
    return Path("passway-data")


@dataclass(frozen=True, slots=True)
class Settings:
    """Every knob Passway has. Field ``foo_bar`` is read from ``PASSWAY_FOO_BAR``."""

    host: str = "127.0.0.1"
    port: int = 8080
    # A second port serving proxy calls only, without uvicorn (``passway.http1.server``): about
    # a quarter less CPU per call. None: off. 0: any free port (tests).
    proxy_port: int | None = None
    workers: int = 1
    data_dir: Path = field(default_factory=_default_data_dir)
    # Empty means the embedded SQLite file ``<data_dir>/passway.db``.
    database_url: str = ""
    # Encryption keys: ``kid:base64(32 bytes)`` entries, comma separated, newest last. Empty means
    # the key file (generated on first start).
    encryption_keys: tuple[str, ...] = ()
    key_file: Path | None = None
    admin_api_key: str = ""
    public_url: str = "http://127.0.0.1:8080"
    catalog_file: Path | None = None
    # Hosts or CIDRs the egress guard lets through although they are private or loopback.
    egress_allow: tuple[str, ...] = ()
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    max_timeout: float = 600.0
    # An OAuth access token expiring within this many seconds is refreshed before the call.
    refresh_margin: float = 60.0
    # After a failed refresh (not a revoked grant) the connection is not retried for this long.
    refresh_cooldown: float = 15.0
    # A refresh lease older than this is considered abandoned (its holder died).
    refresh_lease_ttl: float = 30.0
    # Request bodies up to this size are buffered so the call can be replayed after a 401.
    replay_buffer_limit: int = 1024 * 1024
    # How often a worker polls the change feed to drop stale cache entries.
    cache_poll_interval: float = 0.5
    upstream_pool_size: int = 1000
    # Idle client connections are kept this long (uvicorn's 5 s default is shorter than client pools
    # keep theirs, so a request sent just as the server closed the connection would fail).
    keep_alive_timeout: float = 75.0
    oauth_state_ttl: float = 600.0
    redis_url: str = ""
    # Namespace of every Redis key and channel (instances sharing one Redis must agree on it).
    redis_key_prefix: str = "passway:"
    log_level: str = "info"
    access_log: bool = False
    # --- observability (operations, logs, metrics) ---
    # ``text`` (a terminal) or ``json`` (one JSON object per line, for a log pipeline).
    log_format: str = "text"
    # Days an operation (one proxy call) is kept; 0 records none (logs and metrics stay).
    operations_retention_days: float = 7.0
    # Operations waiting for the background writer; beyond this they are dropped and counted.
    operations_queue_size: int = 10_000

    @property
    def resolved_database_url(self) -> str:
        """The SQLAlchemy async URL: SQLite file by default, ``postgresql://`` mapped to asyncpg."""
        url = self.database_url.strip()
        if not url:
            return f"sqlite+aiosqlite:///{(self.data_dir / 'passway.db').resolve()}"
        for plain, driver in (
            ("postgresql://", "postgresql+asyncpg://"),
            ("postgres://", "postgresql+asyncpg://"),
            ("sqlite://", "sqlite+aiosqlite://"),
        ):
            if url.startswith(plain):
                return driver + url[len(plain) :]
        return url

    @property
    def resolved_key_file(self) -> Path:
        return self.key_file if self.key_file is not None else self.data_dir / "encryption.keys"

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _convert(name: str, raw: str, annotation: str) -> Any:
    try:
        if annotation == "int":
            return int(raw)
        if annotation == "int | None":
            return int(raw) if raw.strip() else None
        if annotation == "float":
            return float(raw)
        if annotation == "bool":
            lowered = raw.strip().lower()
            if lowered in {"1", "true", "yes", "on"}:
                return True
            if lowered in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(raw)
        if annotation.startswith("tuple"):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        if annotation.startswith("Path"):
            return Path(raw) if raw else None
        return raw
    except ValueError:
        raise ConfigurationError(
            f"{_PREFIX}{name.upper()}: cannot read {raw!r} as {annotation}"
        ) from None


def load_settings(environ: Mapping[str, str], **overrides: Any) -> Settings:
    """Build settings from an environment mapping, then apply explicit overrides (CLI flags).

    Overrides whose value is ``None`` are ignored, so CLI options can be passed through as they are.
    """
    values: dict[str, Any] = {}
    for f in dataclasses.fields(Settings):
        key = _PREFIX + f.name.upper()
        if key in environ:
            values[f.name] = _convert(f.name, environ[key], str(f.type))
    values.update({k: v for k, v in overrides.items() if v is not None})
    settings = Settings(**values)
    _validate(settings)
    return settings


def _validate(settings: Settings) -> None:
    if settings.workers < 1:
        raise ConfigurationError("PASSWAY_WORKERS must be at least 1")
    if not 0 < settings.port < 65536:
        raise ConfigurationError("PASSWAY_PORT must be between 1 and 65535")
    if settings.proxy_port is not None:
        if not 0 <= settings.proxy_port < 65536:
            raise ConfigurationError(
                "PASSWAY_PROXY_PORT must be between 0 (any free port) and 65535"
            )
        if settings.proxy_port == settings.port:
            raise ConfigurationError("PASSWAY_PROXY_PORT must differ from PASSWAY_PORT")
    for timeout in ("connect_timeout", "read_timeout", "max_timeout"):
        if getattr(settings, timeout) <= 0:
            raise ConfigurationError(f"PASSWAY_{timeout.upper()} must be positive")
    if settings.log_format not in ("text", "json"):
        raise ConfigurationError("PASSWAY_LOG_FORMAT must be text or json")
    if settings.operations_retention_days < 0:
        raise ConfigurationError("PASSWAY_OPERATIONS_RETENTION_DAYS must be 0 (off) or more")
    if settings.operations_queue_size < 1:
        raise ConfigurationError("PASSWAY_OPERATIONS_QUEUE_SIZE must be at least 1")
    for entry in settings.egress_allow:
        if "/" in entry:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ConfigurationError(
                    f"PASSWAY_EGRESS_ALLOW: {entry!r} is not a valid CIDR"
                ) from None
