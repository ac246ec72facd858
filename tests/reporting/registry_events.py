"""Registry-shaped events (docs/events.md) and a synthetic province, so reporting tests need no registry code.

Units: province 24 before the reform (v2008) with two districts of three communes each, and after it
(v2025) with four communes and the crosswalk (one of them a partial split). Households are drawn with
a fixed seed; `expected` counts them by hand from the final state of each (household, year).
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from nats.js import JetStreamContext

from shared.events import Event

PROVINCE = "v2008.24"
DISTRICT_A = "v2008.24.213"  # Thành phố Bắc Giang
DISTRICT_B = "v2008.24.215"  # Huyện Yên Thế
COMMUNES_A = ["v2008.24.213.07207", "v2008.24.213.07210", "v2008.24.213.07213"]
COMMUNES_B = ["v2008.24.215.07246", "v2008.24.215.07249", "v2008.24.215.07252"]
COMMUNES = COMMUNES_A + COMMUNES_B
OTHER_PROVINCE = "v2008.27"
OTHER_COMMUNE = "v2008.27.256.09190"
NEW_PROVINCE = "v2025.24"
NEW_COMMUNES = ["v2025.24.07210", "v2025.24.07246", "v2025.24.07252", "v2025.24.09999"]
# old commune → [(new commune, partial)]: 07207 + 07210 merged into 07210; 07213 split between 07210 and 09999;
# 07246 + 07249 into 07246; 07252 kept its area as 07252.
SUCCESSORS: dict[str, list[tuple[str, bool]]] = {
    "v2008.24.213.07207": [("v2025.24.07210", False)],
    "v2008.24.213.07210": [("v2025.24.07210", False)],
    "v2008.24.213.07213": [("v2025.24.09999", True), ("v2025.24.07210", True)],
    "v2008.24.215.07246": [("v2025.24.07246", False)],
    "v2008.24.215.07249": [("v2025.24.07246", False)],
    "v2008.24.215.07252": [("v2025.24.07252", False)],
}
# Where the crosswalk rolls each old commune (the non-partial successor, else the first by path).
ROLLED_INTO = {
    "v2008.24.213.07207": "v2025.24.07210", "v2008.24.213.07210": "v2025.24.07210",
    "v2008.24.213.07213": "v2025.24.07210", "v2008.24.215.07246": "v2025.24.07246",
    "v2008.24.215.07249": "v2025.24.07246", "v2008.24.215.07252": "v2025.24.07252",
}
NAMES = {
    PROVINCE: "Tỉnh Bắc Giang", DISTRICT_A: "Thành phố Bắc Giang", DISTRICT_B: "Huyện Yên Thế",
    "v2008.24.213.07207": "Phường Ngô Quyền", "v2008.24.213.07210": "Phường Hoàng Văn Thụ",
    "v2008.24.213.07213": "Phường Trần Phú", "v2008.24.215.07246": "Thị trấn Cầu Gồ",
    "v2008.24.215.07249": "Xã Đồng Tiến", "v2008.24.215.07252": "Xã Canh Nậu",
    OTHER_PROVINCE: "Tỉnh Bắc Ninh", "v2008.27.256": "Thành phố Bắc Ninh", OTHER_COMMUNE: "Phường Vũ Ninh",
    NEW_PROVINCE: "Tỉnh Bắc Ninh", "v2025.24.07210": "Phường Bắc Giang", "v2025.24.07246": "Xã Yên Thế",
    "v2025.24.07252": "Xã Canh Nậu", "v2025.24.09999": "Phường Đa Mai",
}
STATUSES = ["poor", "near_poor", "middle_income", "not_poor"]
TRANSITIONS = ["newly_poor", "re_poor", "escaped_poverty", "escaped_near_poverty", "became_near_poor", "stayed"]


def _level(path: str) -> str:
    depth = len(path.split(".")) - 1
    return {1: "province", 2: "district" if path.startswith("v2008") else "commune", 3: "commune"}[depth]


def unit_event(path: str, version: int = 1, name: str | None = None,
               successors: Sequence[tuple[str, bool]] = ()) -> Event:
    hierarchy, *codes = path.split(".")
    parent = ".".join([hierarchy, *codes[:-1]]) if len(codes) > 1 else None
    level = _level(path)
    return Event(
        type="registry.unit.changed", producer="registry", subject_id=path, unit_code=codes[-1], unit_path=path,
        version=version, payload={
            "hierarchy": hierarchy, "code": codes[-1], "name": name or NAMES.get(path, path), "level": level,
            "type": {"province": "Tỉnh", "district": "Huyện", "commune": "Xã"}[level], "parent_path": parent,
            "urban": None, "valid_from": "2025-07-01" if hierarchy == "v2025" else None,
            "valid_to": "2025-06-30" if hierarchy == "v2008" else None, "poor_district": False,
            "difficult_commune": False, "ethnic_minority_area": False, "mountainous": False,
            "successors": [{"path": p, "partial": partial} for p, partial in successors],
        })


def all_unit_events() -> list[Event]:
    paths = [PROVINCE, DISTRICT_A, DISTRICT_B, *COMMUNES, OTHER_PROVINCE, "v2008.27.256", OTHER_COMMUNE,
             NEW_PROVINCE, *NEW_COMMUNES]
    return [unit_event(p, successors=SUCCESSORS.get(p, ())) for p in paths]


@dataclass(frozen=True)
class Assessment:
    household_id: str
    year: int
    unit_path: str
    status: str
    transition: str
    members: int
    ethnic_minority: bool
    policy_family: bool
    social_protection: bool
    area: str
    version: int

    def item(self) -> dict[str, Any]:
        return {
            "household_id": self.household_id, "assessment_id": f"a-{self.household_id}-{self.year}-{self.version}",
            "review_year": self.year, "status": self.status, "previous_status": None, "transition": self.transition,
            "member_count": self.members, "ethnic_minority": self.ethnic_minority,
            "policy_family": self.policy_family, "social_protection": self.social_protection, "area": self.area,
            "commune_code": self.unit_path.rsplit(".", 1)[-1], "standard": "decree-07-2021",
            "deprived_indicators": ["housing_quality", "latrine"] if self.status == "poor" else [],
            "version": self.version, "unit_path": self.unit_path,
        }


def assessed_event(a: Assessment) -> Event:
    item = a.item()
    return Event(type="registry.household.assessed", producer="registry", subject_id=a.household_id,
                 unit_code=item["commune_code"], unit_path=a.unit_path, version=a.version, payload=item)


def assessed_batch(rows: Sequence[Assessment], job: str = "import-1") -> Event:
    return Event(type="registry.household.assessed_batch", producer="registry", subject_id=job,
                 unit_code=rows[0].unit_path.rsplit(".", 1)[-1], unit_path=rows[0].unit_path, version=1,
                 payload={"items": [r.item() for r in rows]})


def removed_event(household_id: str, unit_path: str, version: int) -> Event:
    return Event(type="registry.household.removed", producer="registry", subject_id=household_id,
                 unit_code=unit_path.rsplit(".", 1)[-1], unit_path=unit_path, version=version,
                 payload={"household_code": household_id, "reason": "duplicate"})


def draw(rng: random.Random, household_id: str, year: int, path: str, version: int) -> Assessment:
    status = rng.choices(STATUSES, weights=[8, 7, 20, 65])[0]
    return Assessment(
        household_id=household_id, year=year, unit_path=path, status=status, transition=rng.choice(TRANSITIONS),
        members=rng.randint(1, 7), ethnic_minority=rng.random() < 0.2, policy_family=rng.random() < 0.1,
        social_protection=rng.random() < 0.15, area=rng.choice(["urban", "rural"]), version=version)


@dataclass
class Dataset:
    """Everything published, and the final state to count by hand."""

    events: list[Event] = field(default_factory=list)
    final: dict[tuple[str, int], Assessment] = field(default_factory=dict)
    removed: set[str] = field(default_factory=set)

    def apply(self, a: Assessment) -> None:
        held = self.final.get((a.household_id, a.year))
        if held is None or held.version < a.version:
            self.final[(a.household_id, a.year)] = a


def province_dataset(households: int = 3000, years: Iterable[int] = (2023, 2024), seed: int = 7) -> Dataset:
    """Households across both districts: bulk batches, single re-assessments, stale events, removals."""
    rng = random.Random(seed)
    data = Dataset()
    homes = {f"hh-{i:05d}": rng.choice(COMMUNES) for i in range(households)}
    version = dict.fromkeys(homes, 0)
    for year in years:
        rows = []
        for hid, path in homes.items():
            version[hid] += 1
            rows.append(draw(rng, hid, year, path, version[hid]))
        for start in range(0, len(rows), 400):
            data.events.append(assessed_batch(rows[start:start + 400], job=f"import-{year}-{start}"))
        for row in rows:
            data.apply(row)
        # Some households re-assessed one by one after the import (newer versions win) ...
        for hid in rng.sample(sorted(homes), households // 20):
            version[hid] += 1
            newer = draw(rng, hid, year, homes[hid], version[hid])
            data.events.append(assessed_event(newer))
            data.apply(newer)
            # ... and an older event of the same household delivered late, which must change nothing.
            stale = replace(draw(rng, hid, year, homes[hid], version[hid] - 1), status="poor")
            data.events.append(assessed_event(stale))
    for hid in rng.sample(sorted(homes), households // 100):
        version[hid] += 1
        data.events.append(removed_event(hid, homes[hid], version[hid]))
        data.removed.add(hid)
    return data


def expected(data: Dataset, year: int, under: str, rolled: dict[str, str] | None = None) -> dict[str, Counter[str]]:
    """By hand: {child path: counters} for units one level below `under` (and "" for `under` itself)."""
    depth = len(under.split("."))
    out: dict[str, Counter[str]] = defaultdict(Counter)
    for (hid, y), a in data.final.items():
        if y != year or hid in data.removed:
            continue
        path = (rolled or {}).get(a.unit_path, a.unit_path)
        if not (path == under or path.startswith(under + ".")):
            continue
        child = ".".join(path.split(".")[: depth + 1])
        for key in (child, ""):
            c = out[key]
            c["households"] += 1
            c["members"] += a.members
            c[a.status] += 1
            c[f"t:{a.transition}"] += 1
            if a.ethnic_minority:
                c["ethnic_minority"] += 1
                c[f"ethnic_minority:{a.status}"] += 1
            c[a.area] += 1
            c[f"{a.area}:{a.status}"] += 1
            if a.status in ("poor", "near_poor"):
                c[f"{a.status}_members"] += a.members
    return out


async def publish(js: JetStreamContext, events: Iterable[Event], with_msg_id: bool = True) -> int:
    """Publish like the registry's outbox relay does (Nats-Msg-Id = event id); returns the last stream seq."""
    seq = 0
    for event in events:
        headers = {"Nats-Msg-Id": str(event.id)} if with_msg_id else None
        ack = await js.publish(event.subject, event.to_bytes(), headers=headers)
        seq = ack.seq
    return seq
