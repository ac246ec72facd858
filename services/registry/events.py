"""Registry household and review events (docs/events.md): type names and payload builders.

Builders take either ORM objects or plain mappings (rows a bulk import holds), so the API and the
import write the same payloads. `version` of a household event is the household's row version.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from shared.events import Event

PRODUCER = "registry"
HOUSEHOLD_REGISTERED = "registry.household.registered"
HOUSEHOLD_UPDATED = "registry.household.updated"
HOUSEHOLD_REMOVED = "registry.household.removed"
HOUSEHOLD_ASSESSED = "registry.household.assessed"
HOUSEHOLD_ASSESSED_BATCH = "registry.household.assessed_batch"
HOUSEHOLD_RESTATED = "registry.household.restated"
REVIEW_APPROVED = "registry.review.approved"

HOUSEHOLD_FIELDS = ("household_code", "commune_code", "village", "member_count", "ethnic_minority",
                    "policy_family", "social_protection", "area")
FLAG_FIELDS = ("ethnic_minority", "policy_family", "social_protection")


def _get(row: Any, key: str) -> Any:
    return row[key] if isinstance(row, Mapping) else getattr(row, key)


def household_payload(household: Any, member_ids: Iterable[Any]) -> dict[str, Any]:
    """The registration fields, the latest recognised status and the ids of the household's current
    members (the head first): what support checks a delivery's `member_ids` against."""
    payload = {f: _get(household, f) for f in HOUSEHOLD_FIELDS}
    payload["status"] = _get(household, "status")
    payload["member_ids"] = [str(m) for m in member_ids]
    return payload


def _household_event(type_: str, household: Any, payload: dict[str, Any]) -> Event:
    return Event(type=type_, producer=PRODUCER, subject_id=str(_get(household, "id")), payload=payload,
                 unit_code=_get(household, "commune_code"), unit_path=_get(household, "unit_path"),
                 version=int(_get(household, "version")))


def household_registered(household: Any, member_ids: Iterable[Any]) -> Event:
    return _household_event(HOUSEHOLD_REGISTERED, household, household_payload(household, member_ids))


def household_updated(household: Any, member_ids: Iterable[Any]) -> Event:
    return _household_event(HOUSEHOLD_UPDATED, household, household_payload(household, member_ids))


def household_restated(household: Mapping[str, Any]) -> Event:
    """The household's current state announced again at its current version (the operator command
    services/registry/operations/republish.py): the registration fields, status and members as
    `.updated` carries them, the recognised `status_year`, the `deprived_indicators` of the newest
    assessment announced (null: none), and `updated_at`, when the household last changed."""
    payload = household_payload(household, household["member_ids"])
    indicators = household["deprived_indicators"]
    payload |= {"status_year": household["status_year"],
                "deprived_indicators": None if indicators is None else list(indicators),
                "updated_at": household["updated_at"].isoformat()}
    return _household_event(HOUSEHOLD_RESTATED, household, payload)


def household_removed(household: Any, reason: str) -> Event:
    payload = {"household_code": _get(household, "household_code"), "reason": reason}
    return _household_event(HOUSEHOLD_REMOVED, household, payload)


def assessed_payload(household: Any, assessment: Any, previous_status: str | None,
                     transition: str | None) -> dict[str, Any]:
    """`household` gives flags, area, commune and ids; `assessment` gives id, year, status, standard and
    the indicator codes the household is deprived in (as the classification computed them)."""
    return {
        "household_id": str(_get(household, "id")),
        "assessment_id": str(_get(assessment, "id")),
        "review_year": int(_get(assessment, "review_year")),
        "status": _get(assessment, "status"),
        "previous_status": previous_status,
        "transition": transition,
        "member_count": int(_get(household, "member_count")),
        **{f: bool(_get(household, f)) for f in FLAG_FIELDS},
        "area": _get(household, "area"),
        "commune_code": _get(household, "commune_code"),
        "standard": _get(assessment, "standard"),
        "deprived_indicators": list(_get(assessment, "deprived_indicators") or ()),
    }


def household_assessed(household: Any, assessment: Any, previous_status: str | None,
                       transition: str | None) -> Event:
    return _household_event(HOUSEHOLD_ASSESSED, household,
                            assessed_payload(household, assessment, previous_status, transition))


def assessed_batch(job_id: str, unit_path: str, unit_code: str, items: Any) -> Event:
    """A `registry.household.assessed_batch` event (bulk imports): `items` holds assessed payloads
    (`REGISTRY_IMPORT_EVENT_ITEMS` at most), each plus its own `version` and `unit_path` — a list, or
    the same list already serialised (an orjson.Fragment)."""
    return Event(type=HOUSEHOLD_ASSESSED_BATCH, producer=PRODUCER, subject_id=job_id, payload={"items": items},
                 unit_code=unit_code, unit_path=unit_path)


def review_approved(review: Any) -> Event:
    payload = {
        "commune_code": _get(review, "commune_code"),
        "year": int(_get(review, "year")),
        "counts": dict(_get(review, "counts") or {}),
        "members": dict(_get(review, "members") or {}),
        "transitions": dict(_get(review, "transitions") or {}),
    }
    return Event(type=REVIEW_APPROVED, producer=PRODUCER, subject_id=str(_get(review, "id")), payload=payload,
                 unit_code=_get(review, "commune_code"), unit_path=_get(review, "unit_path"),
                 version=int(_get(review, "version")))
