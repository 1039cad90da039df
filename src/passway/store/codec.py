"""Records to SQL rows and back, by name: a record's field is the column of the same name.

The column types (``passway.store.tables``) do the conversions (aware UTC times, tuples and
metadata kept as JSON), so a field is declared once on its record and once as a column, and no
mapping is written out by hand. Columns a record does not have (a connection's refresh lease) are
left out of its row; a record's secret fields are not columns at all: ``sealed`` puts their
sealed form in the ``*_enc`` columns and passes the opened values back in as ``opened``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

import sqlalchemy as sa

Row = Mapping[Any, Any]
_R = TypeVar("_R")


def row_of(record: Any, table: sa.Table, **sealed: Any) -> dict[str, Any]:
    """The row of ``record`` in ``table``: every column the record has a field for, plus ``sealed``
    (the encrypted columns)."""
    row = {
        column.name: getattr(record, column.name)
        for column in table.columns
        if column.name not in sealed and hasattr(record, column.name)
    }
    row.update(sealed)
    return row


def record_of(cls: type[_R], row: Row, **opened: Any) -> _R:
    """The ``cls`` record of ``row``: each field from its column, or from ``opened`` (the secret
    fields, decrypted by the caller)."""
    values = {
        field.name: opened[field.name] if field.name in opened else row[field.name]
        for field in dataclasses.fields(cls)  # type: ignore[arg-type]  # records are dataclasses
    }
    return cls(**values)
