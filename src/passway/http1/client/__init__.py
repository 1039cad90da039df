"""The HTTP/1.1 client: one request at a time per pooled connection.

pool.py        ``Http1Client``: the pool, connecting through an ``AddressGuard``, retries
connection.py  ``Http1Connection``: the protocol parsing one answer at a time
request.py     URL split, head encoding and body framing (pure)
response.py    ``Http1Response``: status, headers and the streamed body
deadlines.py   one coarse ticker for every connect/read deadline
"""
