"""Standard Webhooks signing: ``webhook-id``, ``webhook-timestamp``, ``webhook-signature``.

The signature is ``v1,`` + base64(HMAC-SHA256(secret, "{id}.{timestamp}.{body}")), computed by the
``standardwebhooks`` package, so receivers verify with the same package (or any Standard Webhooks
library). Secrets are ``whsec_`` + base64 of 32 random bytes.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks prefix, not a secret


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def signature_headers(
    secret: str, message_id: str, timestamp: datetime, body: bytes
) -> list[tuple[str, str]]:
    """The three headers for ``body`` sent as message ``message_id`` at ``timestamp`` (aware)."""
    signature = Webhook(secret).sign(message_id, timestamp, body.decode("utf-8"))
    return [
        ("webhook-id", message_id),
        ("webhook-timestamp", str(int(timestamp.timestamp()))),
        ("webhook-signature", signature),
    ]
