"""The one request-id scheme: 32 hex digits, time first, so ids sort by time."""

from __future__ import annotations

import time

from passway.observability.request_ids import (
    CallContext,
    is_request_id,
    new_request_id,
    request_id_time,
)


def test_ids_are_32_hex_digits_unique_and_carry_their_time() -> None:
    before = time.time()
    ids = [new_request_id() for _ in range(1000)]
    after = time.time()
    assert len(set(ids)) == 1000
    assert all(is_request_id(i) and len(i) == 32 for i in ids)
    assert all(before - 0.001 <= request_id_time(i) <= after + 0.001 for i in ids)


def test_ids_made_later_sort_after_even_within_a_millisecond() -> None:
    ids = [new_request_id() for _ in range(1000)]
    assert ids == sorted(ids)


def test_other_shapes_are_not_request_ids() -> None:
    for text in ("", "l-abcdef", "A" * 32, "0" * 31, "g" * 32, "0" * 33):
        assert not is_request_id(text)


def test_a_call_keeps_a_bounded_number_of_its_log_lines() -> None:
    call = CallContext(new_request_id(), collect=True)
    for n in range(80):
        call.add_log({"message": str(n)})
    assert call.logs is not None and len(call.logs) == 50
