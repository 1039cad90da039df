"""What ``passway serve`` says before and once it serves.

``check_before_start`` reads what can be wrong in the settings (log level, catalog file) into one
``ConfigurationError`` line before anything starts. ``announcement`` is the "Passway listening on
..." line, printed only once every port is open in every worker (``passway.frontdoor.run`` calls
back when it is true), so a busy port or a bad catalog never announces a server that is not there.
"""

from __future__ import annotations

from passway.catalog import load_catalog
from passway.cli.settings_options import check_log_level
from passway.compiled import build_kind
from passway.errors import ConfigurationError
from passway.settings import Settings


def check_before_start(settings: Settings) -> None:
    """Raise ``ConfigurationError`` (one line) for a setting that would stop the start."""
    bad_level = check_log_level(settings)
    if bad_level:
        raise ConfigurationError(bad_level)
    load_catalog(settings.catalog_file)


def announcement(settings: Settings) -> str:
    """The line printed once every port is open (and, with several workers, every worker ready)."""
    workers = f"{settings.workers} worker{'s' if settings.workers != 1 else ''}"
    if settings.admin_port is not None:
        where = (
            f"Passway serving proxy calls on http://{settings.host}:{settings.port}, "
            f"the management API and API docs (/docs) on "
            f"http://{settings.admin_port_host}:{settings.admin_port}"
        )
    else:
        where = f"Passway listening on http://{settings.host}:{settings.port}; API docs at /docs"
    if settings.proxy_port is not None:
        where += f"; proxy calls also on http://{settings.host}:{settings.proxy_port} (deprecated)"
    return f"{where} ({workers}, hot path {build_kind()})"
