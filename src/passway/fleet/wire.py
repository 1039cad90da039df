"""How fleet facts look inside Redis: key names, values and change messages (pure functions).

Times travel as whole epoch milliseconds. A value that cannot be read is treated as absent: Redis
holds nothing that cannot be recomputed, so ignoring a damaged entry is always safe.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime

from passway.core.throttle import ThrottleWindow
from passway.records import Change

DEFAULT_PREFIX = "passway:"


@dataclass(frozen=True, slots=True)
class Keys:
    """Every name under one prefix (``passway:`` by default; tests add a unique part)."""

    prefix: str = DEFAULT_PREFIX

    def throttle(self, connection_id: str) -> str:
        return f"{self.prefix}throttle:{connection_id}"

    def cooldown(self, connection_id: str) -> str:
        return f"{self.prefix}cooldown:{connection_id}"

    @property
    def changes(self) -> str:
        return f"{self.prefix}changes"


def to_millis(moment: datetime) -> int:
    return math.ceil(moment.timestamp() * 1000)


def from_millis(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def expiry_millis(until: datetime, now: datetime) -> int:
    """The PX expiry for a fact that ends at ``until``: 0 when it has already ended."""
    return max(0, math.ceil((until - now).total_seconds() * 1000))


def encode_window(window: ThrottleWindow) -> str:
    return f"{to_millis(window.until)}:{1 if window.retryable else 0}"


def decode_window(raw: bytes | str | None) -> ThrottleWindow | None:
    if raw is None:
        return None
    text = raw.decode("ascii", "replace") if isinstance(raw, bytes) else raw
    until, _, retryable = text.partition(":")
    if not until.isdigit() or retryable not in ("0", "1"):
        return None
    return ThrottleWindow(until=from_millis(int(until)), retryable=retryable == "1")


def encode_moment(moment: datetime) -> str:
    return str(to_millis(moment))


def decode_moment(raw: bytes | str | None) -> datetime | None:
    if raw is None:
        return None
    text = raw.decode("ascii", "replace") if isinstance(raw, bytes) else raw
    return from_millis(int(text)) if text.isdigit() else None


def encode_change(change: Change, origin: str) -> str:
    return json.dumps(
        {
            "origin": origin,
            "seq": change.seq,
            "projectId": change.project_id,
            "kind": change.kind,
            "entityId": change.entity_id,
        },
        separators=(",", ":"),
    )


def decode_change(raw: bytes | str) -> tuple[str, Change] | None:
    """``(origin, change)`` from a published message, or None when it is not one of ours."""
    try:
        data = json.loads(raw)
        change = Change(
            seq=int(data["seq"]),
            project_id=str(data["projectId"]),
            kind=str(data["kind"]),
            entity_id=str(data["entityId"]),
        )
        return str(data["origin"]), change
    except (ValueError, TypeError, KeyError):
        return None
