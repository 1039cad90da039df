"""Body bytes received and not yet handed on, on either side of the proxy: the answer body in the
upstream client, the request body in the listener.

``take`` joins small pieces into one read and hands large ones on one by one, as they came: a join
copies every byte, which a large transfer would pay for nothing. ``size`` is what is buffered, for
the flow control of whoever reads the socket.
"""

from __future__ import annotations

JOIN_LIMIT = 64 * 1024  # buffered pieces up to this size in all are joined into one read


class Pieces:
    __slots__ = ("_list", "size")

    def __init__(self) -> None:
        self._list: list[bytes] = []
        self.size = 0

    def __bool__(self) -> bool:
        return bool(self._list)

    def add(self, data: bytes) -> None:
        self._list.append(data)
        self.size += len(data)

    def take(self) -> bytes:
        """What is buffered (all of it joined, or the first of several large pieces); b"" when
        nothing is."""
        pieces = self._list
        if len(pieces) == 1 or self.size <= JOIN_LIMIT:
            data = pieces[0] if len(pieces) == 1 else b"".join(pieces)
            self.clear()
            return data
        data = pieces.pop(0)
        self.size -= len(data)
        return data

    def clear(self) -> None:
        self._list = []
        self.size = 0
