"""An accepted import's rows → COPY text lines for `deliveries` and `delivery_history`, and their
`support.delivery.recorded_batch` events as outbox rows (each delivery's item as JSON text, spliced
into the event unparsed, the event's JSON compressed: shared.events.packed). Pure: no database.

This runs once per row of a 200,000-row file, so a row is written from pieces: what its delivery
cells say (programme, date, quantities, money, body: shared by the rows that repeat them, see
rules.RowReader) and what its unit says are formatted once and reused; per row only the ids, the
household and its status are filled in. An item has exactly the keys of `events.delivery_payload`
(tests/support/test_import_build.py compares them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import uuid_utils

from services.support import events
from services.support.deliveries.rules import HOUSEHOLD, RECORDED
from services.support.imports.rules import Delivery
from shared import copy_text
from shared.events import Event, OutboxRow, packed

DELIVERY_COLUMNS = ("id", "unit_path", "kind", "status", "unit_code", "programme", "delivered_on", "year",
                    "household_id", "households", "persons", "quantities", "amount_vnd", "funding", "body", "note",
                    "document_ref", "household_status", "import_job_id", "version", "recorded_at", "recorded_by",
                    "updated_at")
EVENT_ITEMS = 1000  # deliveries per `support.delivery.recorded_batch` event
HISTORY_COLUMNS = ("id", "unit_path", "delivery_id", "version", "action", "actor_id", "actor_role", "at", "after")


def _json(value: Any) -> str:
    """A JSON value as JSON text (to splice into an item)."""
    return orjson.dumps(value).decode()


def _copy_json(value: Any) -> str:
    """A JSON value as a COPY text value."""
    return copy_text.json_text(orjson.dumps(value))


@dataclass
class Built:
    """A run of built rows, as the service stores them."""
    deliveries: bytes  # COPY text lines
    history: bytes
    rows: int
    events: list[OutboxRow]  # a `recorded_batch` event per EVENT_ITEMS deliveries, packed
    paths: set[str]  # the units delivered to
    amount_vnd: int
    last: bool


class DeliveryBuilder:
    """Builds the rows of one import job, recorded by one actor at one moment."""

    def __init__(self, job_id: str, stamp: str, actor_id: str, actor_role: str | None,
                 catalogue: Mapping[tuple[str, str], Mapping[str, Any]], event_items: int = EVENT_ITEMS,
                 correlation_id: str | None = None, traceparent: str | None = None) -> None:
        self.job_id, self.stamp, self.event_items = job_id, stamp, event_items
        self.correlation_id, self.traceparent = correlation_id, traceparent  # the request's, for the events
        self.catalogue = catalogue
        actor = copy_text.text(actor_id)
        after = _copy_json({"import_job_id": job_id})
        self._delivery_tail = f"\t{job_id}\t1\t{stamp}\t{actor}\t{stamp}\n"
        self._history_tail = f"\t1\trecorded\t{actor}\t{copy_text.nullable(actor_role)}\t{stamp}\t{after}\n"
        self._item_tail = (f',"member_ids":[],"eligibility_exception":false,"eligibility_rule":null,'
                           f'"sponsorship_id":null,"import_job_id":{_json(job_id)},"recorded_at":{_json(stamp)},'
                           f'"void_reason":null}}')
        self._item_head = f'","version":1,"kind":{_json(HOUSEHOLD)},"status":{_json(RECORDED)},'
        self._units: dict[str, tuple[str, str, str]] = {}
        self._households: dict[str, tuple[str, str, str, str, str, str]] = {}
        self._deliveries: dict[int, tuple[str, str, str]] = {}
        self._lines: list[str] = []
        self._history: list[str] = []
        self._items: list[str] = []
        self._paths: list[str] = []
        self._amounts: list[int] = []

    def _unit(self, path: str) -> tuple[str, str, str]:
        """(COPY columns unit_path…unit_code, the path as COPY text, the item's unit fields)."""
        found = self._units.get(path)
        if found is None:
            fields = events.unit_fields(path)
            found = self._units[path] = (
                f"\t{copy_text.text(path)}\t{HOUSEHOLD}\t{RECORDED}\t{copy_text.text(fields['unit_code'])}\t",
                copy_text.text(path), _json(fields)[1:-1])  # "unit_code":…,"hierarchy":… inside the item
        return found

    def _household(self, household_id: str, unit_path: str, status: str | None) -> tuple[str, str, str, str, str, str]:
        """The pieces of a line, its history line and its item that say the household and its unit
        (see `add`)."""
        unit_copy, path_copy, unit_item = self._unit(unit_path)
        found = self._households[household_id] = (
            unit_copy, household_id, f"{copy_text.nullable(status)}{self._delivery_tail}",
            f"\t{path_copy}\t",
            f"{self._item_head}{unit_item},",
            f',"household_id":{_json(household_id)},"household_status":{_json(status)}{self._item_tail}')
        return found

    def _delivery(self, d: Delivery) -> tuple[str, str, str]:
        """(COPY columns programme…year, COPY columns persons…document_ref, the item's middle)."""
        found = self._deliveries.get(id(d))
        if found is None:
            code, day = d.programme.code, d.delivered_on.isoformat()
            programme = self.catalogue.get(("programme", code), {})
            body = self.catalogue.get(("body", d.body), {})
            funding = []
            for part in d.funding:
                source = self.catalogue.get(("funding_source", part["source"]), {})
                funding.append({"source": part["source"], "source_kind": source.get("kind"),
                                "source_level": source.get("level"), "amount_vnd": part["amount_vnd"]})
            item = {"programme": code, "programme_category": programme.get("category"), "delivered_on": day,
                    "period_from": None, "year": d.delivered_on.year, "households": 1, "persons": d.persons,
                    "turns": None, "quantities": d.quantities, "amount_vnd": d.amount_vnd, "funding": funding,
                    "body": d.body, "body_kind": body.get("kind"), "body_detail": None}
            found = self._deliveries[id(d)] = (
                f"{copy_text.text(code)}\t{day}\t{d.delivered_on.year}\t",
                f"\t1\t{copy_text.number(d.persons)}\t{_copy_json(d.quantities)}\t{d.amount_vnd}\t"
                f"{_copy_json(d.funding)}\t{copy_text.text(d.body)}\t{copy_text.nullable(d.note)}\t"
                f"{copy_text.nullable(d.document_ref)}\t",
                _json(item)[1:-1])
        return found

    def add(self, delivery: Delivery, household_id: str, unit_path: str, status: str | None) -> None:
        delivery_id, history_id = str(uuid_utils.uuid7()), str(uuid_utils.uuid7())
        unit_copy, household_copy, status_tail, path_copy, item_head, item_tail = (
            self._households.get(household_id) or self._household(household_id, unit_path, status))
        head, tail, middle = self._deliveries.get(id(delivery)) or self._delivery(delivery)
        self._lines.append(f"{delivery_id}{unit_copy}{head}{household_copy}{tail}{status_tail}")
        self._history.append(f"{history_id}{path_copy}{delivery_id}{self._history_tail}")
        self._items.append(f'{{"delivery_id":"{delivery_id}{item_head}{middle}{item_tail}')
        self._paths.append(unit_path)
        self._amounts.append(delivery.amount_vnd)

    def __len__(self) -> int:
        return len(self._lines)

    def take(self, last: bool) -> Built:
        """The rows added since the last take: all if `last`, else a whole number of events' worth."""
        size = self.event_items
        count = len(self._lines) if last else len(self._lines) - len(self._lines) % size
        lines, self._lines = self._lines[:count], self._lines[count:]
        history, self._history = self._history[:count], self._history[count:]
        items, self._items = self._items[:count], self._items[count:]
        paths, self._paths = self._paths[:count], self._paths[count:]
        amounts, self._amounts = self._amounts[:count], self._amounts[count:]
        events = [self._event(paths[i], items[i:i + size]) for i in range(0, count, size)]
        return Built(deliveries="".join(lines).encode(), history="".join(history).encode(), rows=count,
                     events=events, paths=set(paths), amount_vnd=sum(amounts), last=last)

    def _event(self, path: str, items: list[str]) -> OutboxRow:
        """A `recorded_batch` event of these items; its unit is the first one's."""
        unit = events.unit_fields(path)
        return packed(Event(type=events.DELIVERY_RECORDED_BATCH, producer=events.PRODUCER, subject_id=self.job_id,
                            unit_path=unit["unit_path"], unit_code=unit["unit_code"], version=1,
                            payload={"job_id": self.job_id,
                                     "items": orjson.Fragment(("[" + ",".join(items) + "]").encode())},
                            correlation_id=self.correlation_id, traceparent=self.traceparent))
