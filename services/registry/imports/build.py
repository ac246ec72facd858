"""Valid rows → COPY text lines of households, head members, assessments and history, and event items.

Runs in the import's worker process. The rules are the service's own: the classifier for the status
and its explanation, the personal-data cipher for the citizen ID, the transition rule, and the
shapes of the assessed payload (services/registry/events.py) and of the history snapshot
(households/rules.py); a test holds the inlined shapes equal to those builders. An imported
household looks like one created by the API, except that only its head is a member row (the file
has no other members; `member_count` counts them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from uuid import UUID

import orjson
import uuid_utils

from services.registry.classification.classifier import Standards
from services.registry.households.rules import transition
from services.registry.imports.places import Commune
from services.registry.imports.validation import HouseholdRow
from services.registry.personal_data import PersonalDataCipher, mask_citizen_id
from services.registry.units.names import search_key
from shared import copy_text as c
from shared.lines import Lines

HEAD_RELATION = "head"
# Column order of each table's COPY lines (storage.py copies them in this order).
HOUSEHOLD_COLUMNS = ("id", "unit_path", "commune_code", "household_code", "village", "head_name",
                     "head_name_search", "area", "member_count", "ethnic_minority", "policy_family",
                     "version", "created_by")
MEMBER_COLUMNS = ("id", "household_id", "unit_path", "full_name", "name_search", "citizen_id_enc",
                  "citizen_id_hash", "birth_date", "relation", "is_head")
ASSESSMENT_COLUMNS = ("id", "household_id", "unit_path", "review_year", "kind", "area", "income_per_capita",
                      "deprived_indicators", "deprived_count", "standard", "status", "poverty_line",
                      "near_poverty_line", "middle_income_line", "explanation", "member_count", "state",
                      "previous_status", "transition", "source", "created_by")
HISTORY_COLUMNS = ("id", "household_id", "unit_path", "version", "action", "actor_id", "actor_role", "reason",
                   "after", "correlation_id")


@dataclass(frozen=True, slots=True)
class LookupKeys:
    """What the look-ups of a checking pass need to name a row already registered."""

    row: int
    household_code: str
    commune_code: str
    citizen_hash: bytes


@dataclass
class Records:
    """One batch ready for COPY: a line per row and table, each row's event item (JSON followed by a
    comma), path and status. `keys` is filled when the batch will be looked up before its COPY (a
    checking pass)."""

    households: Lines = field(default_factory=Lines)
    members: Lines = field(default_factory=Lines)
    assessments: Lines = field(default_factory=Lines)
    history: Lines = field(default_factory=Lines)
    items: Lines = field(default_factory=Lines)
    paths: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    keys: list[LookupKeys] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.paths)

    def drop(self, positions: Iterable[int]) -> None:
        """Removes rows found already registered (rare: rebuilds the batch only then)."""
        gone = set(positions)
        if not gone:
            return
        for name in ("households", "members", "assessments", "history", "items"):
            setattr(self, name, getattr(self, name).without(gone))
        for name in ("paths", "statuses", "keys"):
            setattr(self, name, [v for i, v in enumerate(getattr(self, name)) if i not in gone])

    def counts(self) -> Counter[str]:
        return Counter(self.statuses)


class RecordBuilder:
    def __init__(self, job_id: UUID, actor_id: str, actor_role: str | None, cipher: PersonalDataCipher,
                 correlation_id: str | None, standards: Standards, with_keys: bool = False) -> None:
        self.cipher = cipher
        self.standards = standards
        self.with_keys = with_keys
        self.actor = c.text(actor_id)
        # The same for every history line of the job: action, actor, role, reason.
        self._history_tail = "\t".join(("registered", c.text(actor_id), c.nullable(actor_role),
                                        c.text(f"bulk import {job_id}")))
        self._correlation = c.nullable(correlation_id)
        self._words: dict[str, str] = {}
        self._places: dict[str, str] = {}

    def build(self, placed: Sequence[tuple[HouseholdRow, bytes, Commune]]) -> Records:
        out = Records()
        households: list[bytes] = []
        member_lines: list[bytes] = []
        assessments: list[bytes] = []
        history: list[bytes] = []
        items: list[bytes] = []
        actor, history_tail, correlation = self.actor, self._history_tail, self._correlation
        classify = self.standards.classify
        uuid7 = uuid_utils.uuid7
        # One system call for the batch's nonces: a per-row os.urandom costs a million system calls.
        sealed = self.cipher.encrypt_many([p[0].head_citizen_id for p in placed])
        for (row, digest, commune), citizen_id_enc in zip(placed, sealed, strict=True):
            household_id, member_id, assessment_id, entry_id = str(uuid7()), str(uuid7()), str(uuid7()), str(uuid7())
            path, area, code = commune.path, commune.area, commune.code
            place = self._place(commune)
            result = classify(row.review_year, area, row.income_per_capita, row.deprived_indicators)
            status = result.status
            move = transition(None, status, False)
            name = c.text(row.head_name)
            name_search = c.text(self._search_key(row.head_name))
            member_count = str(row.member_count)
            households.append(
                f"{household_id}\t{place}\t{c.text(row.household_code)}\t{c.nullable(row.village)}\t{name}\t"
                f"{name_search}\t{area}\t{member_count}\t{c.boolean(row.ethnic_minority)}\t"
                f"{c.boolean(row.policy_family)}\t1\t{actor}\n".encode())
            member_lines.append(
                f"{member_id}\t{household_id}\t{path}\t{name}\t{name_search}\t{c.bytea(citizen_id_enc)}\t"
                f"{c.bytea(digest)}\t{row.head_birth_date.isoformat()}\t{HEAD_RELATION}\tt\n".encode())
            assessments.append(
                f"{assessment_id}\t{household_id}\t{path}\t{row.review_year}\tannual\t{area}\t"
                f"{row.income_per_capita}\t{c.text_array(result.deprived_indicators)}\t{result.deprived_count}\t"
                f"{result.standard}\t{status}\t{result.poverty_line}\t{c.number(result.near_poverty_line)}\t"
                f"{c.number(result.middle_income_line)}\t{c.text(result.explanation)}\t{member_count}\trecorded\t"
                f"{c.NULL}\t{move}\timport\t{actor}\n".encode())
            history.append(
                f"{entry_id}\t{household_id}\t{path}\t1\t{history_tail}\t"
                f"{c.json_text(snapshot(row, code, area, member_id))}\t{correlation}\n".encode())
            # = events.assessed_payload(household, assessment, None, move) + version and unit_path, and (an
            # import writes no `registered` event) the household's code and its members' ids (its head)
            items.append(orjson.dumps({
                "household_id": household_id, "assessment_id": assessment_id,
                "review_year": row.review_year, "status": status, "previous_status": None, "transition": move,
                "member_count": row.member_count, "ethnic_minority": row.ethnic_minority,
                "policy_family": row.policy_family, "social_protection": False, "area": area, "commune_code": code,
                "standard": result.standard, "deprived_indicators": result.deprived_indicators, "version": 1,
                "unit_path": path, "household_code": row.household_code, "member_ids": [member_id]})
                + b",")  # a copy of exact size
            out.paths.append(path)
            out.statuses.append(status)
            if self.with_keys:
                out.keys.append(LookupKeys(row.row, row.household_code, code, digest))
        out.households, out.members, out.assessments, out.history, out.items = (
            Lines.join(households), Lines.join(member_lines), Lines.join(assessments), Lines.join(history),
            Lines.join(items))
        return out

    def _place(self, commune: Commune) -> str:
        """`unit_path \\t commune_code` of the households line, once per commune."""
        known = self._places.get(commune.path)
        if known is None:
            known = self._places[commune.path] = f"{c.text(commune.path)}\t{c.text(commune.code)}"
        return known

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


def snapshot(row: HouseholdRow, commune_code: str, area: str, member_id: str) -> bytes:
    """The history entry's `after`, shaped like the API's (households/rules.py; a test holds them
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
    })
