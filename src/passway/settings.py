"""Settings, read once from ``PASSWAY_*`` variables and CLI flags into one frozen object.

``load_settings(environ, **flags)`` is the only reader of the environment, and only the composition
root (``bootstrap``) and the command line call it, with ``os.environ``; everything else receives a
``Settings`` (or the part of it that it needs). The fields, their types and defaults are declared
once, here, with pydantic-settings: field ``foo_bar`` is read from ``PASSWAY_FOO_BAR``; lists are
comma separated; an empty variable counts as unset. A value that cannot be read, or that breaks a
rule below, stops start-up with one ``ConfigurationError`` naming the variable.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.sources import EnvSettingsSource
from pydantic_settings.sources.utils import parse_env_vars

from passway.errors import ConfigurationError

_PREFIX = "PASSWAY_"


def default_data_dir(environ: Mapping[str, str]) -> Path:
    """Where data lives unless ``PASSWAY_DATA_DIR`` says otherwise: ``$XDG_DATA_HOME/passway``,
    else ``~/.local/share/passway``. Absolute, so the server and the CLI find the same directory
    wherever they are run from."""
    xdg = environ.get("XDG_DATA_HOME", "").strip()
    if xdg and Path(xdg).is_absolute():
        return Path(xdg) / "passway"
    home = environ.get("HOME", "").strip()
    base = Path(home) if home else Path.home()
    return base / ".local" / "share" / "passway"


def _default_data_dir() -> Path:
    return default_data_dir(os.environ)


class Settings(BaseSettings):
    """Every knob Passway has. Field ``foo_bar`` is read from ``PASSWAY_FOO_BAR``."""

    model_config = SettingsConfigDict(
        env_prefix=_PREFIX, env_ignore_empty=True, frozen=True, extra="ignore"
    )

    host: str = "127.0.0.1"
    port: int = 8080
    # A second port serving proxy calls only, without uvicorn (``passway.http1.server``): about
    # a quarter less CPU per call. None: off. 0: any free port (tests).
    proxy_port: int | None = None
    workers: int = 1
    data_dir: Path = Field(default_factory=_default_data_dir)
    # Empty means the embedded SQLite file ``<data_dir>/passway.db``.
    database_url: str = ""
    # Encryption keys: ``kid:base64(32 bytes)`` entries, comma separated, newest last. Empty means
    # the key file (generated on first start).
    encryption_keys: Annotated[tuple[str, ...], NoDecode] = ()
    key_file: Path | None = None
    admin_api_key: str = ""
    public_url: str = "http://127.0.0.1:8080"
    catalog_file: Path | None = None
    # Hosts or CIDRs the egress guard lets through although they are private or loopback.
    egress_allow: Annotated[tuple[str, ...], NoDecode] = ()
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    max_timeout: float = 600.0
    # An OAuth access token expiring within this many seconds is refreshed before the call.
    refresh_margin: float = 60.0
    # After a failed refresh (not a revoked grant) the connection is not retried for this long.
    refresh_cooldown: float = 15.0
    # A refresh lease not renewed for this long is considered abandoned (its holder died); a live
    # holder renews it every third of this.
    refresh_lease_ttl: float = 5.0
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
    # Front door (``passway.frontdoor``). An optional second listener for the management API, the
    # OAuth callback and pages; when set, the main port serves proxy calls and /healthz only.
    # None: everything on the main port. 0: any free port (tests).
    admin_port: int | None = None
    # Address of that listener (empty: the main port's ``host``).
    admin_host: str = ""
    # A request head (request line and headers) must arrive completely within this many seconds.
    header_timeout: float = 10.0
    # Database outage: cached proxy resolutions keep serving for this many seconds after the last
    # good read of the change feed (a key revoked meanwhile works until then or until it is back).
    stale_cache_ttl: float = 300.0
    # The longest a call waits for another process's token refresh before 503 token_refresh_pending.
    refresh_wait: float = 10.0

    # Notifications (signed webhooks) ---------------------------------------------------------
    # Run the webhook deliverer in this server's workers (off: other instances deliver).
    webhooks_enabled: bool = True
    # A failed delivery is retried for this many hours; a destination failing this long is
    # disabled (with a destination.webhook.disabled event).
    webhook_retry_hours: float = 24.0
    # Delay before the first retry in seconds, doubled per failure (with jitter) up to the max.
    webhook_backoff_base: float = 5.0
    webhook_backoff_max: float = 3600.0
    # One webhook exchange (connect, send, answer) must end within this many seconds.
    webhook_timeout: float = 10.0
    # How often a worker looks for deliveries that other processes wrote or made due.
    webhook_poll_interval: float = 1.0
    # Events (and their deliveries) older than this many days, none pending, are dropped.
    webhook_event_retention_days: float = 30.0

    # --- observability (operations, logs, metrics) ---
    # ``text`` (a terminal) or ``json`` (one JSON object per line, for a log pipeline).
    log_format: str = "text"
    # Days an operation (one proxy call) is kept; 0 records none (logs and metrics stay).
    operations_retention_days: float = 7.0
    # Operations waiting for the background writer; beyond this they are dropped and counted.
    operations_queue_size: int = 10_000

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only explicit values: ``load_settings`` reads the environment mapping it is given.
        return (init_settings,)

    @field_validator("encryption_keys", "egress_allow", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("proxy_port", "admin_port", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

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

    @property
    def admin_port_host(self) -> str:
        """Where the admin listener binds: ``admin_host``, else the main port's ``host``."""
        return self.admin_host or self.host

    def replace(self, **changes: Any) -> Settings:
        return self.model_copy(update=changes)


class _MappingSource(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping instead of ``os.environ``."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(Settings)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(
            self._environ, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str
        )


def load_settings(environ: Mapping[str, str], **overrides: Any) -> Settings:
    """Build settings from an environment mapping, then apply explicit overrides (CLI flags).

    Overrides whose value is ``None`` are ignored, so CLI options can be passed through as they are.
    """
    values: dict[str, Any] = dict(_MappingSource(environ)())
    flags = {k: v for k, v in overrides.items() if v is not None}
    try:
        # Every variable is read as its type even when a flag overrides it: a bad value in the
        # environment is an error whatever the command line says.
        Settings(**values)
        merged = values | flags
        data_dir = merged.get("data_dir") or default_data_dir(environ)
        # Absolute from here on: a relative PASSWAY_DATA_DIR means the directory it names now.
        merged["data_dir"] = Path(data_dir).expanduser().absolute()
        settings = Settings(**merged)
    except ValidationError as exc:
        raise ConfigurationError(_first_problem(exc)) from None
    _validate(settings)
    return settings


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    name = str(error["loc"][0]) if error["loc"] else "?"
    annotation = Settings.model_fields[name].annotation if name in Settings.model_fields else None
    wanted = getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")
    return f"{_PREFIX}{name.upper()}: cannot read {error.get('input')!r} as {wanted}"


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
    if settings.admin_port is not None:
        if not 0 <= settings.admin_port < 65536:
            raise ConfigurationError(
                "PASSWAY_ADMIN_PORT must be between 0 (any free port) and 65535"
            )
        if settings.admin_port == settings.port and settings.admin_port_host == settings.host:
            raise ConfigurationError("PASSWAY_ADMIN_PORT must differ from PASSWAY_PORT")
    if settings.header_timeout <= 0:
        raise ConfigurationError("PASSWAY_HEADER_TIMEOUT must be positive")
    if settings.stale_cache_ttl < 0:
        raise ConfigurationError("PASSWAY_STALE_CACHE_TTL must not be negative")
    if settings.refresh_wait <= 0:
        raise ConfigurationError("PASSWAY_REFRESH_WAIT must be positive")
    for timeout in ("connect_timeout", "read_timeout", "max_timeout"):
        if getattr(settings, timeout) <= 0:
            raise ConfigurationError(f"PASSWAY_{timeout.upper()} must be positive")
    for knob in (
        "webhook_retry_hours",
        "webhook_backoff_base",
        "webhook_backoff_max",
        "webhook_timeout",
        "webhook_poll_interval",
        "webhook_event_retention_days",
    ):
        if getattr(settings, knob) <= 0:
            raise ConfigurationError(f"PASSWAY_{knob.upper()} must be positive")
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
