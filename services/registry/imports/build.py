"""Valid rows → COPY records of households, head members, assessments and history, and event items.

Runs in a worker thread. The rules are the service's own: the classifier for the status and its
explanation, the personal-data cipher for the citizen ID, the transition rule, and the shapes of the
assessed payload (services/registry/events.py) and of the history snapshot (households/history.py);
a test holds the inlined shapes equal to those builders. An imported household looks like one
created by the API, except that only its head is a member row (the file has no other members;
`member_count` counts them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import orjson
import uuid_utils

from services.registry import events
from services.registry.classification.classifier import classify
from services.registry.households.transitions import transition
from services.registry.imports.storage import Commune
from services.registry.imports.validation import HouseholdRow
from services.registry.personal_data import PersonalDataCipher, mask_citizen_id
from services.registry.units.names import search_key
from shared.events import Event
from shared.principal import Principal

HEAD_RELATION = "head"


@dataclass
class Records:
    """One batch ready for COPY (tuples in storage's column order), its event items, its rows."""

    rows: list[HouseholdRow] = field(default_factory=list)
    households: list[tuple[Any, ...]] = field(default_factory=list)
    members: list[tuple[Any, ...]] = field(default_factory=list)
    assessments: list[tuple[Any, ...]] = field(default_factory=list)
    history: list[tuple[Any, ...]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)

    def drop(self, positions: Iterable[int]) -> None:
        """Removes rows found already registered (rare: rebuilds the lists only then)."""
        gone = set(positions)
        if not gone:
            return
        for name in ("rows", "households", "members", "assessments", "history", "items"):
            values = getattr(self, name)
            setattr(self, name, [v for i, v in enumerate(values) if i not in gone])

    def statuses(self) -> Counter[str]:
        return Counter(item["status"] for item in self.items)

    def paths(self) -> set[str]:
        return {item["unit_path"] for item in self.items}


class RecordBuilder:
    def __init__(self, job_id: UUID, principal: Principal, cipher: PersonalDataCipher,
                 correlation_id: str | None) -> None:
        self.principal = principal
        self.cipher = cipher
        self.correlation_id = correlation_id
        self.reason = f"bulk import {job_id}"
        self._words: dict[str, str] = {}

    def build(self, placed: Sequence[tuple[HouseholdRow, bytes, Commune]]) -> Records:
        out = Records()
        actor, role, reason, correlation = self.principal.id, self.principal.role, self.reason, self.correlation_id
        uuid7 = uuid_utils.uuid7
        # One system call for the batch's nonces: a per-row os.urandom drops the GIL a million times.
        sealed = self.cipher.encrypt_many([p[0].head_citizen_id for p in placed])
        for (row, digest, commune), citizen_id_enc in zip(placed, sealed, strict=True):
            household_id, member_id, assessment_id = uuid7(), uuid7(), uuid7()
            path, area, code = commune.path, commune.area, commune.code
            result = classify(row.review_year, area, row.income_per_capita, row.deprived_indicators)
            status = result.status
            move = transition(None, status, False)
            name_search = self._search_key(row.head_name)
            out.rows.append(row)
            out.households.append((
                household_id, path, code, row.household_code, row.village, row.head_name, name_search, area,
                row.member_count, row.ethnic_minority, row.policy_family, 1, actor))
            out.members.append((
                member_id, household_id, path, row.head_name, name_search, citizen_id_enc, digest,
                row.head_birth_date, HEAD_RELATION, True))
            out.assessments.append((
                assessment_id, household_id, path, row.review_year, "annual", area, row.income_per_capita,
                list(result.deprived_indicators), result.deprived_count, result.standard, status,
                result.poverty_line, result.near_poverty_line, result.middle_income_line, result.explanation,
                row.member_count, "recorded", None, move, "import", actor))
            out.history.append((
                uuid7(), household_id, path, 1, "registered", actor, role, reason,
                snapshot(row, code, area, str(member_id)), correlation))
            # = events.assessed_payload(household, assessment, None, move) + version and unit_path
            out.items.append({
                "household_id": str(household_id), "assessment_id": str(assessment_id),
                "review_year": row.review_year, "status": status, "previous_status": None, "transition": move,
                "member_count": row.member_count, "ethnic_minority": row.ethnic_minority,
                "policy_family": row.policy_family, "social_protection": False, "area": area, "commune_code": code,
                "standard": result.standard, "version": 1, "unit_path": path})
        return out

    def _search_key(self, name: str) -> str:
        """search_key word by word, cached: names share few words, so a million heads cost a few thousand."""
        words = self._words
        parts = []
        for word in name.split():
            key = words.get(word)
            if key is None:
                key = words[word] = search_key(word)
            parts.append(key)
        return " ".join(parts)


def snapshot(row: HouseholdRow, commune_code: str, area: str, member_id: str) -> str:
    """The history entry's `after`, shaped like the API's (households/history.py; a test holds them
    equal), citizen ID masked."""
    return orjson.dumps({
        "household_code": row.household_code, "commune_code": commune_code, "village": row.village,
        "address": None, "head_name": row.head_name, "area": area, "member_count": row.member_count,
        "ethnic_minority": row.ethnic_minority, "policy_family": row.policy_family, "social_protection": False,
        "no_labour_capacity": False, "status": None, "status_year": None,
        "members": [{
            "member_id": member_id, "full_name": row.head_name, "birth_date": row.head_birth_date.isoformat(),
            "sex": None, "ethnicity": None, "relation": HEAD_RELATION, "is_head": True, "no_labour_capacity": False,
            "social_protection": False, "policy_person": False,
            "citizen_id": mask_citizen_id(row.head_citizen_id)}],
    }).decode()


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
    """`registry.household.assessed_batch` events of `size` households each, as soon as that many wait."""

    def __init__(self, job_id: UUID, size: int) -> None:
        self.job_id = str(job_id)
        self.size = size
        self._items: list[dict[str, Any]] = []

    def add(self, items: Sequence[dict[str, Any]]) -> list[Event]:
        self._items.extend(items)
        return self._take(len(self._items) - len(self._items) % self.size)

    def rest(self) -> list[Event]:
        return self._take(len(self._items))

    def _take(self, count: int) -> list[Event]:
        if count == 0:
            return []
        items, self._items = self._items[:count], self._items[count:]
        out: list[Event] = []
        for start in range(0, count, self.size):
            chunk = items[start:start + self.size]
            path = common_path(item["unit_path"] for item in chunk)
            out.extend(events.assessed_batches(self.job_id, path, path.rsplit(".", 1)[-1], chunk, size=self.size))
        return out
