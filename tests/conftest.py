"""Suite-wide switches: slow tests run only with PASSWAY_TEST_SLOW=1 (``.ci/run`` sets it)."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("PASSWAY_TEST_SLOW") == "1":
        return
    skip_slow = pytest.mark.skip(reason="slow: set PASSWAY_TEST_SLOW=1 to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)
