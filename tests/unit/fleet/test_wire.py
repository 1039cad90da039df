"""How fleet facts are written into Redis: names under the prefix, values that round-trip at
millisecond precision, expiries that end with the fact, and damaged values read as absent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from passway.core.throttle import ThrottleWindow
from passway.fleet import wire
from passway.records import Change

NOW = datetime(2026, 3, 6, 22, 9, 49, 250_000, tzinfo=UTC)


def test_every_name_lives_under_the_prefix() -> None:
    keys = wire.Keys("passway:test-1:")
    assert keys.throttle("c1") == "passway:test-1:throttle:c1"
    assert keys.cooldown("c1") == "passway:test-1:cooldown:c1"
    assert keys.changes == "passway:test-1:changes"
    assert wire.Keys().changes == "passway:changes"


def test_a_window_round_trips() -> None:
    for retryable in (True, False):
        window = ThrottleWindow(until=NOW, retryable=retryable)
        assert wire.decode_window(wire.encode_window(window)) == window
        assert wire.decode_window(wire.encode_window(window).encode()) == window


def test_sub_millisecond_ends_are_rounded_up_never_earlier() -> None:
    until = NOW + timedelta(microseconds=1)
    decoded = wire.decode_moment(wire.encode_moment(until))
    assert decoded is not None and until <= decoded <= until + timedelta(milliseconds=1)


def test_expiry_ends_with_the_fact_and_is_zero_once_it_has_ended() -> None:
    assert wire.expiry_millis(NOW + timedelta(seconds=30), NOW) == 30_000
    assert wire.expiry_millis(NOW + timedelta(microseconds=10), NOW) == 1
    assert wire.expiry_millis(NOW - timedelta(seconds=1), NOW) == 0


def test_damaged_values_read_as_absent() -> None:
    for raw in (None, b"", b"abc", b"123", b"123:2", b"-5:1", "x:1"):
        assert wire.decode_window(raw) is None
    for raw in (None, b"", b"soon", b"-1"):
        assert wire.decode_moment(raw) is None


def test_a_change_message_round_trips_with_its_origin() -> None:
    change = Change(seq=42, project_id="p1", kind="api_key", entity_id="k1")
    assert wire.decode_change(wire.encode_change(change, "origin-a")) == ("origin-a", change)


def test_foreign_messages_are_ignored() -> None:
    for raw in (
        "not json",
        "[]",
        '{"seq": 1}',
        '{"origin": "o", "seq": "x", "projectId": "p", "kind": "k", "entityId": "e"}',
    ):
        assert wire.decode_change(raw) is None
