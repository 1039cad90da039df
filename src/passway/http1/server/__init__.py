"""The HTTP/1.1 server that serves an ASGI application (Passway's proxy handler).

listener.py    ``ProxyListener``: binds the port (``SO_REUSEPORT``), health check, shut-down
shared.py      ``ConnectionSettings``: what every connection of one listener shares
connection.py  ``ClientConnection``: parse requests, keep-alive, pipelining, limits, refusals
call.py        ``ListenerCall``: one request's ASGI ``receive``/``send`` (or ``ResponseWriter``)
               with backpressure
"""
