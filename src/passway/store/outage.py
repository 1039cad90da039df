"""Telling a database outage from a bug.

An outage (the server is down, restarting, unreachable, or dropped the connection) must reach
the client as 503 ``store_unavailable`` (retry later), never as 500 ``internal_error``. The SQL
store lets the driver's exceptions through; the edges (the proxy handler, the management API, the
token manager) ask ``is_store_outage`` and answer ``StoreUnavailable``.
"""

from __future__ import annotations

from sqlalchemy import exc as sa

from passway.errors import StoreUnavailable


def is_store_outage(error: BaseException) -> bool:
    """Whether ``error`` says the database could not be reached or dropped the connection."""
    if isinstance(error, StoreUnavailable):
        return True
    if isinstance(error, OSError | TimeoutError):  # connect refused, reset, unreachable, timeout
        return True
    if isinstance(error, sa.DBAPIError):
        return (
            error.connection_invalidated
            or isinstance(error, sa.OperationalError | sa.InterfaceError)
            or isinstance(error.orig, OSError)
        )
    return isinstance(error, sa.DisconnectionError | sa.TimeoutError)


def store_unavailable() -> StoreUnavailable:
    return StoreUnavailable("The database is unavailable; try again shortly.")
