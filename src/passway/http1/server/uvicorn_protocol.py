"""uvicorn's httptools protocol, with a chunked request's trailers kept out of its headers.

uvicorn hands the application the very list its parser appends header lines to, and llhttp reports
a chunked body's trailer section through the same callback: trailers sent after the body would
turn up as request headers (``x-amp-installation-id`` read from them, others forwarded upstream).
RFC 9110 section 6.5 says trailers must not be merged into the header section. This protocol gives
the parser a fresh list once the head is complete, so the request's headers are exactly its head.

Use it wherever Passway's ASGI app runs under uvicorn: ``uvicorn.Config(app, http=
TrailerSafeHttpToolsProtocol)``. (``passway serve`` does not use uvicorn.)
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class TrailerSafeHttpToolsProtocol(HttpToolsProtocol):
    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        # The scope keeps the head's list; trailer lines, if any, land in this one and are dropped.
        self.headers = []
