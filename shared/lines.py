"""Lines one after the other in one buffer, with where each ends.

A batch of an import (registry, support) is thousands of lines per table. As one buffer it is sent
from the worker process (shared/workers.py) in one piece (a list of lines costs a pickled object per
line on both sides) and handed to COPY as it is; the ends let a row be dropped (a checking pass) or
a run of rows cut out (events).
"""

from __future__ import annotations

import pickle
from array import array
from collections.abc import Iterable, Iterator
from itertools import accumulate
from typing import Any


class Lines:
    __slots__ = ("data", "ends")

    def __init__(self, data: bytes | memoryview = b"", ends: array[int] | None = None) -> None:
        self.data = bytes(data) if isinstance(data, memoryview) else data
        self.ends = ends if ends is not None else array("Q")

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        # Pickle protocol 5 may carry the buffer out of band: written to a pipe as it is, without a copy.
        data = pickle.PickleBuffer(self.data) if protocol >= 5 else self.data
        return Lines, (data, self.ends)

    @classmethod
    def join(cls, lines: Iterable[bytes]) -> Lines:
        pieces = list(lines)
        return cls(b"".join(pieces), array("Q", accumulate(map(len, pieces))))

    def __len__(self) -> int:
        return len(self.ends)

    def __getitem__(self, i: int) -> bytes:
        return self.data[self._start(i):self.ends[i]]

    def __iter__(self) -> Iterator[bytes]:
        return (self[i] for i in range(len(self)))

    def _start(self, i: int) -> int:
        return self.ends[i - 1] if i > 0 else 0

    def span(self, start: int, stop: int) -> bytes:
        """Lines `start` to `stop` (excluded), one after the other."""
        return self.data[self._start(start):self.ends[stop - 1]] if stop > start else b""

    def tail(self, start: int) -> Lines:
        """Lines from `start` on."""
        offset = self._start(start)
        return Lines(self.data[offset:], array("Q", (end - offset for end in self.ends[start:])))

    def without(self, positions: set[int]) -> Lines:
        return Lines.join(line for i, line in enumerate(self) if i not in positions)

    def __add__(self, other: Lines) -> Lines:
        offset = len(self.data)
        return Lines(self.data + other.data, self.ends + array("Q", (end + offset for end in other.ends)))
