"""Pure rules both stores apply the same way, so the in-memory twin cannot drift from SQL."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

from passway.errors import Conflict
from passway.records import Integration


class _Dated(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def create_time(self) -> datetime: ...


R = TypeVar("R", bound=_Dated)


def ordered(records: Iterable[R]) -> list[R]:
    """Oldest first, ties broken by id: the one listing order every store returns."""
    return sorted(records, key=lambda r: (r.create_time, r.id))


def check_unique_names(integrations: Sequence[Integration]) -> None:
    seen: set[str] = set()
    for item in integrations:
        if item.name in seen:
            raise Conflict(f"integration {item.name!r} appears twice")
        seen.add(item.name)


def merge_integrations(
    project_id: str, incoming: Sequence[Integration], existing: Mapping[str, Integration]
) -> list[Integration]:
    """The rows an upsert writes; an integration that exists by name keeps id and create time."""
    merged = []
    for item in incoming:
        old = existing.get(item.name)
        if old is None:
            merged.append(dataclasses.replace(item, project_id=project_id))
        else:
            merged.append(
                dataclasses.replace(
                    item, id=old.id, project_id=project_id, create_time=old.create_time
                )
            )
    return merged
