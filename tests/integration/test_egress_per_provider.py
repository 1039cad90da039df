"""An operator catalog entry allows its own upstream hosts (``egressAllow``), on the wire.

Nothing is allowed globally here (``PASSWAY_EGRESS_ALLOW`` empty), and two providers call the same
loopback upstream: the one whose entry allows 127.0.0.1 reaches it, the other is refused 403
``egress_denied`` and never reaches it, also right after the first left a pooled keep-alive
connection to that very address (the pool keeps connections apart per guard).
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from support import catalog as tc
from support.seed import seed_proxy_setup
from support.server import ADMIN_KEY, make_settings, serve_front_door
from support.upstream import RecordingUpstream

ALLOWED = "test-egress-own-allow"
OTHER = "test-egress-no-allow"


def _entry(name: str, base_url: str, **extra: object) -> dict[str, object]:
    return {
        "name": name,
        "authType": "apiKey",
        "baseURL": base_url,
        "apiKeyAttachment": "header",
        "apiKeyHeaderName": "Authorization",
        "apiKeyHeaderValuePrefix": "Bearer ",
        "support": {"proxy": True},
        **extra,
    }


async def test_only_the_provider_allowing_a_private_host_reaches_it(tmp_path: Path) -> None:
    async with RecordingUpstream() as upstream:
        providers = [
            *tc.catalog_providers(upstream.url),
            _entry(ALLOWED, upstream.url, egressAllow=["127.0.0.1"]),
            _entry(OTHER, upstream.url),
        ]
        catalog = tmp_path / "catalog.json"
        catalog.write_text(json.dumps({"providers": providers}), encoding="utf-8")
        settings = make_settings(tmp_path, catalog_file=catalog, egress_allow=())
        async with (
            serve_front_door(settings) as door,
            httpx.AsyncClient(base_url=door.url, timeout=30) as client,
        ):
            allowed = await seed_proxy_setup(
                client, ADMIN_KEY, provider=ALLOWED, credential={"apiKey": "k-allowed"}
            )
            other = await seed_proxy_setup(
                client, ADMIN_KEY, provider=OTHER, credential={"apiKey": "k-other"}
            )
            for round_ in range(2):
                upstream.clear()
                ok = await client.get(f"/allowed/{round_}", headers=allowed.proxy_headers())
                assert ok.status_code == 200, ok.text
                refused = await client.get(f"/other/{round_}", headers=other.proxy_headers())
                assert refused.status_code == 403, refused.text
                assert refused.headers["x-passway-error"] == "egress_denied"
                assert [r.raw_path for r in upstream.requests] == [f"/allowed/{round_}"]
                assert all(r.header("authorization") != "Bearer k-other" for r in upstream.requests)
