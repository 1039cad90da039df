"""The buffer both sides of the proxy hand body bytes on from."""

from __future__ import annotations

from passway.http1.pieces import JOIN_LIMIT, Pieces


def test_small_pieces_are_joined_into_one_read() -> None:
    pieces = Pieces()
    for part in (b"ab", b"cd", b"ef"):
        pieces.add(part)
    assert pieces.size == 6
    assert pieces.take() == b"abcdef"
    assert not pieces
    assert pieces.size == 0


def test_large_pieces_are_handed_on_one_by_one_and_uncopied() -> None:
    first, second = b"x" * JOIN_LIMIT, b"y" * 10
    pieces = Pieces()
    pieces.add(first)
    pieces.add(second)
    taken = pieces.take()
    assert taken is first  # the very object received: no copy
    assert pieces.size == 10
    assert pieces
    assert pieces.take() is second
    assert not pieces


def test_clear_forgets_what_was_buffered() -> None:
    pieces = Pieces()
    pieces.add(b"left over")
    pieces.clear()
    assert not pieces
    assert pieces.size == 0
