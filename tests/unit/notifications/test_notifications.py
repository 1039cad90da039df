"""The pure parts of notifications: payloads, signing, backoff and when to give up or disable."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from passway.notifications import events
from passway.notifications.retry import RetryPolicy, backoff_seconds, failure_outcome
from passway.notifications.signing import new_secret, signature_headers
from passway.store.notifications import Claim, Destination, delivery_for
from support.records import Records

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_signature_headers_verify_with_the_standard_webhooks_package() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_") and new_secret() != secret
    body = events.webhook_body(events.event("p1", "connection.created", {"a": 1}, NOW, "msg_1"))
    headers = dict(signature_headers(secret, "msg_1", datetime.now(UTC), body))
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(body, headers) == {
        "notificationType": "connection.created",
        "data": {"a": 1},
    }
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"1", b"2"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)


def test_connection_payloads_carry_no_credentials() -> None:
    connection = Records().connection("p1", id="c1")
    created = events.connection_created(connection, NOW)
    assert created.type == "connection.created" and created.id.startswith("msg_")
    assert created.data["connectionId"] == "c1" and created.data["projectId"] == "p1"
    error = events.connection_error(connection, ["Token refresh error: 503"], NOW)
    assert error.data["error"] == ["Token refresh error: 503"]
    text = json.dumps([created.data, error.data])
    creds = connection.credentials
    for secret in (creds.api_key, creds.password, creds.client_secret):
        assert not secret or secret not in text


def test_installation_payloads_follow_the_spec_fields() -> None:
    make = Records()
    integration = make.integration("p1")
    connection = make.connection("p1")
    installation = make.installation(integration, connection)
    data = events.installation_created(installation, integration, connection, NOW).data
    for field in (
        "projectId",
        "provider",
        "integrationId",
        "integrationName",
        "installationId",
        "groupRef",
        "groupName",
        "connectionId",
        "consumerRef",
        "consumerName",
        "config",
    ):
        assert field in data
    updated = events.installation_updated(installation, installation, integration, None, NOW)
    assert "lastConfig" in updated.data and updated.data["consumerRef"] is None


def test_a_destination_url_is_reported_without_query_or_user_info() -> None:
    assert events.public_url("https://u:p@h.example:8443/x?token=s#f") == "https://h.example:8443/x"
    assert events.public_url("http://[::1]:9/hooks") == "http://[::1]:9/hooks"


def test_backoff_doubles_up_to_the_cap_with_jitter() -> None:
    policy = RetryPolicy(base_seconds=5, cap_seconds=60, window_seconds=3600)
    assert [backoff_seconds(n, policy, 0.0) for n in (1, 2, 3, 4, 5)] == [2.5, 5, 10, 20, 30]
    assert [backoff_seconds(n, policy, 0.999999) for n in (1, 2, 5, 50)] == pytest.approx(
        [5, 10, 60, 60], rel=1e-5
    )


def _claim(attempts: int, retry_from: datetime) -> Claim:
    event = events.event("p1", "connection.error", {}, retry_from)
    destination = Destination(
        "d1", "p1", "hooks", "webhook", "https://h/", {}, "whsec_x", True, None, None, NOW, NOW
    )
    delivery = delivery_for(event, "d1", "dlv_1")
    return Claim(replace(delivery, attempts=attempts), event, destination)


def test_a_failure_is_retried_within_the_window_then_given_up() -> None:
    policy = RetryPolicy(base_seconds=60, cap_seconds=3600, window_seconds=24 * 3600)
    early = failure_outcome(_claim(0, NOW), NOW, policy, 0.5, "HTTP 500", 500)
    assert early.next_attempt_time == NOW + timedelta(seconds=45)
    assert early.disable_if_failing_since == NOW - timedelta(hours=24)
    assert [e.type for e in early.disabled_events] == ["destination.webhook.disabled"]
    late = NOW + timedelta(hours=23, minutes=59)
    given_up = failure_outcome(_claim(30, NOW), late, policy, 0.5, "timed out", None)
    assert given_up.next_attempt_time is None and given_up.error == "timed out"
