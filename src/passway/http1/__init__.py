"""Passway's own HTTP/1.1 client and server, on ``asyncio.Protocol`` and httptools.

    client/     pooled upstream connections behind an address guard, streaming both ways
    server/     the listener that serves proxy calls to an ASGI application (or, for one that
                asks, through the call itself: ``asgi_types.DirectApp``)
    pieces.py   body bytes received and not yet handed on (both sides hand them on alike)

Neither knows anything of the proxy, the store or the management API: the server runs any ASGI
application, the client connects wherever its ``AddressGuard`` allows. They import only the ASGI
vocabulary (``passway.asgi_types``), and the server renders its own refusals with
``passway.errors`` and ``passway.problems``. The README's design section says why Passway carries
its own rather than a general-purpose library (the measured CPU per call).
"""
