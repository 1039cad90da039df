"""``passway doctor``: check what a first run needs, and say what to fix.

Each check prints one line (``ok``, ``warn`` or ``FAIL``) and, when something is wrong, the fix.
The exit code is 1 when any check failed. Nothing is created or changed: a database or key file
that does not exist yet is reported, not made.
"""

from __future__ import annotations

import asyncio
import ipaddress
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import click

from passway.catalog import load_catalog, parse_catalog
from passway.cli.common import settings_from
from passway.cli.settings_options import check_log_level, mask_url_password
from passway.crypto import Keyring
from passway.egress import EgressPolicy, blocked_reason
from passway.errors import ConfigurationError
from passway.settings import Settings

Status = Literal["ok", "warn", "FAIL"]
TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class Finding:
    status: Status
    subject: str
    message: str
    fix: str = ""


def _ok(subject: str, message: str) -> Finding:
    return Finding("ok", subject, message)


async def check_database(settings: Settings) -> list[Finding]:
    from sqlalchemy import text

    from passway.store.engine import create_engine
    from passway.store.migrate import HEAD, current_revision

    where = mask_url_password(settings.database_url) or "SQLite"
    if not settings.database_url.strip():
        path = settings.data_dir / "passway.db"
        where = f"SQLite at {path}"
        if not path.exists():
            return [
                Finding(
                    "warn",
                    "database",
                    f"{where} does not exist yet",
                    "run `passway migrate`, or start `passway serve`, to create it "
                    "(check --data-dir / PASSWAY_DATA_DIR if you expected one)",
                )
            ]
    engine = create_engine(settings.resolved_database_url)
    try:
        try:
            async with asyncio.timeout(TIMEOUT), engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            revision = await asyncio.wait_for(current_revision(engine), TIMEOUT)
        except Exception as error:  # noqa: BLE001 - any failure to connect is the finding
            return [
                Finding(
                    "FAIL",
                    "database",
                    f"{where} is not reachable: {type(error).__name__}: {error}".splitlines()[0],
                    "start the database server, or correct PASSWAY_DATABASE_URL",
                )
            ]
    finally:
        await engine.dispose()
    if revision == HEAD:
        return [_ok("database", f"{where} reachable, schema at revision {HEAD} (newest)")]
    state = "never migrated" if revision is None else f"at revision {revision}, newest is {HEAD}"
    return [Finding("FAIL", "database", f"{where} reachable but {state}", "run `passway migrate`")]


def check_keys(settings: Settings) -> Finding:
    if settings.encryption_keys:
        try:
            keyring = Keyring.from_entries(settings.encryption_keys)
        except ConfigurationError as error:
            return Finding("FAIL", "keys", error.detail, "correct PASSWAY_ENCRYPTION_KEYS")
        return _ok("keys", f"{len(keyring.key_ids)} key(s) from PASSWAY_ENCRYPTION_KEYS")
    path = settings.resolved_key_file
    if not path.exists():
        return Finding(
            "warn",
            "keys",
            f"key file {path} does not exist yet",
            "it is generated on first start; back it up then (without it stored "
            "credentials cannot be decrypted). If a database already holds credentials, "
            "point PASSWAY_KEY_FILE at its key file",
        )
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            return Finding(
                "FAIL",
                "keys",
                f"key file {path} is accessible by group or others (mode {mode:o}); "
                "Passway refuses to use it",
                f"chmod 600 {path}",
            )
        keyring = Keyring.from_file(path)
    except (ConfigurationError, OSError) as error:
        detail = error.detail if isinstance(error, ConfigurationError) else str(error)
        return Finding(
            "FAIL", "keys", f"key file {path}: {detail}", "make it readable by this user only"
        )
    return _ok("keys", f"key file {path}: {len(keyring.key_ids)} key(s)")


def _operator_hosts(settings: Settings) -> Iterator[tuple[str, str]]:
    """(provider, host) of the operator catalog's providers whose host is fixed."""
    if settings.catalog_file is None:
        return
    text = Path(settings.catalog_file).read_text("utf-8")
    for provider in parse_catalog(text, str(settings.catalog_file)).values():
        host = urlsplit(provider.base_url).hostname if "{{" not in provider.base_url else None
        if host:
            yield provider.name, host


def check_catalog_and_egress(settings: Settings) -> list[Finding]:
    try:
        catalog = load_catalog(settings.catalog_file)
    except ConfigurationError as error:
        return [
            Finding(
                "FAIL",
                "catalog",
                error.detail,
                "fix the file named by PASSWAY_CATALOG_FILE (Passway refuses to start until then)",
            )
        ]
    extra = f" plus {settings.catalog_file}" if settings.catalog_file else ""
    findings = [_ok("catalog", f"built-in catalog{extra} valid: {len(catalog)} providers")]
    try:
        policy = EgressPolicy.from_settings(settings.egress_allow)
    except ConfigurationError as error:
        return [*findings, Finding("FAIL", "egress", error.detail, "correct PASSWAY_EGRESS_ALLOW")]
    refused = []
    for name, host in _operator_hosts(settings):
        address = "127.0.0.1" if host == "localhost" else host
        try:
            ipaddress.ip_address(address)
        except ValueError:
            continue  # a DNS name: checked against its addresses at call time
        reason = blocked_reason(address)
        if reason and policy.refusal(host, address):
            refused.append((name, host, reason))
    allowed = ", ".join(settings.egress_allow) or "public addresses only"
    if not refused:
        findings.append(_ok("egress", f"allowed: {allowed}"))
    for name, host, reason in refused:
        findings.append(
            Finding(
                "FAIL",
                "egress",
                f"provider {name!r} is at {host} ({reason}): calls to it will be refused",
                f"add {host} to PASSWAY_EGRESS_ALLOW (e.g. PASSWAY_EGRESS_ALLOW={host})",
            )
        )
    return findings


async def check_redis(settings: Settings) -> Finding | None:
    if not settings.redis_url:
        return None
    import redis.asyncio as aioredis

    where = mask_url_password(settings.redis_url)
    client: Any = aioredis.from_url(settings.redis_url, socket_connect_timeout=TIMEOUT)
    try:
        await asyncio.wait_for(client.ping(), TIMEOUT)
    except Exception as error:  # noqa: BLE001 - reported as a finding
        return Finding(
            "FAIL",
            "redis",
            f"{where} is not reachable: {type(error).__name__}",
            "start Redis, or unset PASSWAY_REDIS_URL (Passway works without it)",
        )
    finally:
        await client.aclose()
    return _ok("redis", f"{where} reachable")


def run_checks(settings: Settings) -> list[Finding]:
    findings: list[Finding] = []
    bad_level = check_log_level(settings)
    if bad_level:
        findings.append(Finding("FAIL", "settings", bad_level, "use one of the names listed"))
    else:
        findings.append(_ok("settings", "every PASSWAY_* value is readable"))
    findings += asyncio.run(check_database(settings))
    findings.append(check_keys(settings))
    findings += check_catalog_and_egress(settings)
    redis_finding = asyncio.run(check_redis(settings))
    if redis_finding is not None:
        findings.append(redis_finding)
    return findings


@click.command()
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Check what Passway needs to start (settings, database, keys, catalog, egress, Redis)."""
    try:
        settings = settings_from(ctx)
    except ConfigurationError as error:
        findings = [Finding("FAIL", "settings", error.detail, "correct that variable or flag")]
    else:
        findings = run_checks(settings)
    for finding in findings:
        click.echo(f"{finding.status:<4}  {finding.subject:<8}  {finding.message}")
        if finding.fix and finding.status != "ok":
            click.echo(f"{'':<4}  {'':<8}  fix: {finding.fix}")
    failed = sum(f.status == "FAIL" for f in findings)
    if failed:
        click.echo(f"{failed} problem(s) to fix before Passway can run as configured.", err=True)
        ctx.exit(1)
    warned = sum(f.status == "warn" for f in findings)
    note = f" ({warned} warning(s) above)" if warned else ""
    click.echo(f"Nothing stops Passway from starting{note}.", err=True)
