"""Notifications: signed webhooks when connections and installations change or break.

- ``events``: the event types and their payloads (pure builders over records);
- ``signing``: Standard Webhooks headers (``webhook-id``, ``webhook-timestamp``,
  ``webhook-signature``) and signing secrets;
- ``retry``: exponential backoff with jitter, when to give up, when to disable a destination;
- ``manage``: destinations and routes, as the API and the CLI manage them;
- ``deliverer``: the background task, one per worker, that sends the outbox.
"""
