"""Fixtures of the store contract suite: every backend, and a factory of valid records."""

from __future__ import annotations

import pytest

from support.databases import any_store, database_url, sql_store  # noqa: F401  (fixtures)
from support.records import Records


@pytest.fixture
def make() -> Records:
    return Records()
