"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from passway.egress import EgressPolicy
from passway.http1.client.pool import Http1Client


@pytest.fixture
async def http() -> AsyncIterator[Http1Client]:
    """Passway's own HTTP/1.1 client, allowed to reach loopback (where the tests' servers run)."""
    client = Http1Client(EgressPolicy.from_settings(["127.0.0.1", "::1"]), pool_size=20)
    yield client
    await client.aclose()
