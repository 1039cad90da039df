"""End to end as an operator runs it: ``python -m passway serve --workers 2`` on SQLite, set up
through the management API, then proxy calls carrying the full headers to a loopback provider."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
from aiohttp import __version__ as aiohttp_version
from aiohttp import web

from support import catalog as tc
from support.seed import seed_proxy_setup
from support.server import ADMIN_KEY, make_settings, run_passway_process, settings_env
from support.upstream import RecordingUpstream


async def test_served_passway_proxies_calls_and_streams_events(tmp_path: Path) -> None:
    async def events(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for n in range(3):
            await response.write(f"data: {n}\n\n".encode())
            await asyncio.sleep(0.1)
        return response

    async with RecordingUpstream() as upstream:
        upstream.set_handler("GET", "/events", events)
        catalog_file = tc.write_test_catalog(tmp_path / "catalog.json", upstream.url)
        settings = make_settings(tmp_path, catalog_file=catalog_file)
        async with (
            run_passway_process(settings_env(settings), workers=2, via_cli=True) as base_url,
            httpx.AsyncClient(base_url=base_url, timeout=10) as client,
        ):
            setup = await seed_proxy_setup(
                client,
                ADMIN_KEY,
                provider=tc.BASIC,
                credential={"basicAuth": {"username": "u", "password": "p"}},
            )
            responses = await asyncio.gather(
                *(
                    client.post("/v1/echo?n=1", json={"i": i}, headers=setup.proxy_headers())
                    for i in range(40)
                )
            )
            assert {r.status_code for r in responses} == {200}
            assert sorted(json.loads(r.json()["body"])["i"] for r in responses) == list(range(40))
            assert {r.header("authorization") for r in upstream.requests} == {"Basic dTpw"}
            # The provider's Date and Server headers come through once; the server adds none.
            assert len(responses[0].headers.get_list("date")) == 1
            [server] = responses[0].headers.get_list("server")
            assert server.endswith(f"aiohttp/{aiohttp_version}")

            chunks = []
            async with client.stream("GET", "/events", headers=setup.proxy_headers()) as r:
                async for chunk in r.aiter_raw():
                    chunks.append(chunk)
            assert b"".join(chunks) == b"data: 0\n\ndata: 1\n\ndata: 2\n\n"
