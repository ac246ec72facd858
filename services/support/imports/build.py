"""An accepted import's rows → COPY text lines for `deliveries` and `delivery_history`, and each
delivery's `support.delivery.recorded_batch` item as JSON text. Pure: no database.

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
from shared.lines import Lines

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
    """A run of built rows, as the service stores them (sent from the worker process in one piece)."""
    deliveries: Lines  # COPY text lines
    history: Lines
    items: Lines  # each delivery's event item: a JSON object followed by a comma
    first_paths: list[str]  # the unit path of the first delivery of every EVENT_ITEMS
    paths: set[str]  # the units delivered to
    amount_vnd: int
    last: bool


class DeliveryBuilder:
    """Builds the rows of one import job, recorded by one actor at one moment."""

    def __init__(self, job_id: str, stamp: str, actor_id: str, actor_role: str | None,
                 catalogue: Mapping[tuple[str, str], Mapping[str, Any]]) -> None:
        self.job_id, self.stamp = job_id, stamp
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
        self._statuses: dict[str | None, tuple[str, str]] = {}
        self._deliveries: dict[int, tuple[str, str, str]] = {}
        self._lines: list[str] = []
        self._history: list[str] = []
        self._items: list[str] = []
        self._paths: list[str] = []
        self._amount = 0

    def _unit(self, path: str) -> tuple[str, str, str]:
        """(COPY columns unit_path…unit_code, the path as COPY text, the item's unit fields)."""
        found = self._units.get(path)
        if found is None:
            fields = events.unit_fields(path)
            found = self._units[path] = (
                f"\t{copy_text.text(path)}\t{HOUSEHOLD}\t{RECORDED}\t{copy_text.text(fields['unit_code'])}\t",
                copy_text.text(path), _json(fields)[1:-1])  # "unit_code":…,"hierarchy":… inside the item
        return found

    def _status(self, status: str | None) -> tuple[str, str]:
        found = self._statuses.get(status)
        if found is None:
            found = self._statuses[status] = (copy_text.nullable(status), _json(status))
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
        unit_copy, path_copy, unit_item = self._unit(unit_path)
        status_copy, status_item = self._status(status)
        head, tail, middle = self._delivery(delivery)
        self._lines.append(f"{delivery_id}{unit_copy}{head}{household_id}{tail}{status_copy}{self._delivery_tail}")
        self._history.append(f"{history_id}\t{path_copy}\t{delivery_id}{self._history_tail}")
        self._items.append(f'{{"delivery_id":"{delivery_id}{self._item_head}{unit_item},{middle},'
                           f'"household_id":"{household_id}","household_status":{status_item}{self._item_tail},')
        self._paths.append(unit_path)
        self._amount += delivery.amount_vnd

    def __len__(self) -> int:
        return len(self._lines)

    def take(self, last: bool) -> Built:
        """The rows added since the last take (a multiple of EVENT_ITEMS unless `last`)."""
        paths = self._paths
        built = Built(deliveries=Lines.join(line.encode() for line in self._lines),
                      history=Lines.join(line.encode() for line in self._history),
                      items=Lines.join(item.encode() for item in self._items),
                      first_paths=paths[::EVENT_ITEMS], paths=set(paths), amount_vnd=self._amount, last=last)
        self._lines, self._history, self._items, self._paths, self._amount = [], [], [], [], 0
        return built
