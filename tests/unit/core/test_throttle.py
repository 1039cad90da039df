"""Throttle-mode time logic: Retry-After in seconds or as a date, the window, the header format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from passway.core.throttle import (
    DEFAULT_RETRY_AFTER,
    ThrottleBook,
    format_utc,
    retry_after_seconds,
    window_after_429,
)

NOW = datetime(2025, 3, 6, 22, 9, 19, 250_000, tzinfo=UTC)


def test_format_matches_the_documented_example() -> None:
    assert (
        format_utc(datetime(2025, 3, 6, 22, 9, 49, tzinfo=UTC)) == "Thu, 06 Mar 2025 22:09:49 UTC"
    )


def test_retry_after_seconds_and_http_dates() -> None:
    assert retry_after_seconds("30", NOW) == 30
    assert retry_after_seconds("Thu, 06 Mar 2025 22:10:19 GMT", NOW) == 59.75
    assert retry_after_seconds("Thu, 06 Mar 2025 22:00:00 GMT", NOW) == 0
    assert retry_after_seconds("soon", NOW) is None
    assert retry_after_seconds(None, NOW) is None


def test_window_rounds_up_to_whole_seconds_never_earlier() -> None:
    window = window_after_429("30", NOW)
    assert window.until == datetime(2025, 3, 6, 22, 9, 50, tzinfo=UTC)
    assert window.retryable
    assert dict(window.headers()) == {
        b"x-amp-retry-after": b"Thu, 06 Mar 2025 22:09:50 UTC",
        b"x-amp-retryable": b"true",
    }


def test_absent_retry_after_uses_the_default_and_long_waits_are_not_retryable() -> None:
    window = window_after_429(None, NOW)
    assert window.until - NOW >= timedelta(seconds=DEFAULT_RETRY_AFTER)
    assert not window_after_429("86400", NOW).retryable


def test_book_holds_a_window_until_it_ends() -> None:
    book = ThrottleBook()
    window = window_after_429("10", NOW)
    book.record("c1", window, NOW)
    assert book.active("c1", NOW + timedelta(seconds=5)) == window
    assert book.active("c2", NOW) is None
    assert book.active("c1", NOW + timedelta(seconds=11)) is None
