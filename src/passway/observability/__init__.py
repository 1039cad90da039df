"""What Passway tells its operators: request ids, structured logs, Prometheus metrics, health.

request_ids.py  ``new_request_id`` (the one id scheme of every port) and the per-call context
                (request id and the call's own log lines) that log lines pick up
logs.py         logging set-up (``PASSWAY_LOG_FORMAT=json|text``, structlog over stdlib logging),
                the collector of a call's log lines, the access-log query scrubber
metrics.py      ``Metrics``: the Prometheus registry (multiprocess-aware), built in bootstrap
endpoints.py    ``/healthz``, ``/readyz`` and ``/metrics`` as raw ASGI
"""
