"""Fixtures of the client tests: ``served`` (one Passway and upstream for the session) and
``fresh`` (a new project, its key and clients); see ``client_world``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from client_world import Fresh, Served, _Background
from passway_client import Passway
from support.server import ADMIN_KEY


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    background = _Background(tmp_path_factory.mktemp("passway-client"))
    background.thread.start()
    try:
        url, upstream, loop = background.ready.result(timeout=60)
        paths = frozenset(httpx.get(f"{url}/v1/openapi.json", timeout=30).json()["paths"])
        yield Served(url, upstream, loop, paths)
    finally:
        background.stop()


@pytest.fixture
def fresh(served: Served) -> Iterator[Fresh]:
    with Passway(served.url, ADMIN_KEY) as admin:
        project = admin.projects.create(f"p-{uuid.uuid4().hex[:12]}", app_name="Client tests")
        key = admin.for_project(project["id"]).api_keys.create("tests")
        with Passway(served.url, key["key"], project=project["name"]) as passway:
            yield Fresh(admin, passway, dict(project), key["key"], served.upstream, served.url)
