"""The proxy: one straight line per call, one module per step.

    handler.py      raw ASGI entry; runs the steps below in order, renders Passway's own errors
    request.py      parse and validate the proxy headers (pure)
    resolve.py      API key → project → installation → integration → connection → provider
    cache.py        the per-project, single-flight, bounded cache behind ``resolve``
    invalidation.py the change-feed watcher that keeps other workers' caches honest
    body.py         the client's body (buffered when small, streamed otherwise) and disconnects
    upstream.py     send with ``passway.http1.client``, relay the answer as it streams
    timeouts.py     connect/read timeouts and the ``x-amp-timeout-seconds`` override

The pure rules the handler applies live in ``passway.core``: ``headers`` (what crosses),
``credentials`` (where credentials go), ``target`` (the upstream URL), ``throttle`` (throttle mode
after a provider 429).
"""
