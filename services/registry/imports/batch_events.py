"""`registry.household.assessed_batch` events of an import (docs/events.md): `event_items` households
each, in the order they were stored. Each item arrives as JSON already (built by the import's worker
process) and is spliced into the event unparsed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from uuid import UUID

import orjson

from services.registry import events
from shared.events import Event
from shared.lines import Lines


def common_path(paths: Iterable[str]) -> str:
    """The lowest unit path holding all `paths` (at least the hierarchy)."""
    iterator = iter(paths)
    common = next(iterator).split(".")
    for path in iterator:
        parts = path.split(".")
        n = 0
        while n < len(common) and n < len(parts) and common[n] == parts[n]:
            n += 1
        common = common[:n]
    return ".".join(common)


class EventBatcher:
    """Events of `size` households each, as soon as that many wait."""

    def __init__(self, job_id: UUID, size: int) -> None:
        self.job_id = str(job_id)
        self.size = size
        self._items = Lines()  # each item's JSON followed by a comma
        self._paths: list[str] = []

    def add(self, items: Lines, paths: Sequence[str]) -> list[Event]:
        self._items += items
        self._paths.extend(paths)
        return self._take(len(self._items) - len(self._items) % self.size)

    def rest(self) -> list[Event]:
        return self._take(len(self._items))

    def _take(self, count: int) -> list[Event]:
        if count == 0:
            return []
        out: list[Event] = []
        for start in range(0, count, self.size):
            stop = start + self.size
            path = common_path(set(self._paths[start:stop]))
            chunk = orjson.Fragment(b"[" + self._items.span(start, min(stop, count))[:-1] + b"]")
            out.append(events.assessed_batch(self.job_id, path, path.rsplit(".", 1)[-1], chunk))
        self._items, self._paths = self._items.tail(count), self._paths[count:]
        return out
