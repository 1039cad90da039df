"""What the customer's browser sees at the end of the connect flow: a small page or a redirect.

Everything shown is escaped; nothing secret (code, state, tokens) ever appears. The pages are sent
with ``Referrer-Policy: no-referrer`` so the callback URL (which carried the code) is not passed on,
and a Content-Security-Policy that allows no script at all.
"""

from __future__ import annotations

import html
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
}

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;
color:#222}}h1{{font-size:1.4rem}}.detail{{color:#555}}</style></head>
<body><h1>{title}</h1><p class="detail">{detail}</p></body></html>
"""


def page(title: str, detail: str) -> str:
    return _TEMPLATE.format(title=html.escape(title), detail=html.escape(detail))


def success_page(provider_name: str) -> str:
    return page(
        "Connected",
        f"Your {provider_name} account is connected. You can close this window.",
    )


def error_page(title: str, detail: str) -> str:
    return page(title, detail)


def with_query(url: str, params: dict[str, str]) -> str:
    """``url`` with ``params`` added to its query string (existing parameters kept)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))
