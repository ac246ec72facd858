"""Catalogue use cases: read, add or change an entry (province and admin roles; an entry is changed
only by the unit that owns it: national entries by the national level), and load the reference data
file at set-up (adding what is missing, never undoing an officer's edit). Every change emits
`support.catalogue.changed` (reporting keeps the names from it) and writes its history entry
(`added`, `changed`), in the same transaction."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.support import history
from services.support.catalogue import repository, rules
from services.support.catalogue.models import CatalogueEntry, CatalogueHistory
from services.support.catalogue.schemas import FIELDS, EntryIn
from shared import clock
from shared.errors import Problem, conflict, forbidden
from shared.etag import check_if_match
from shared.events import Event, record_events
from shared.principal import Principal

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "catalogue.json"
# The data file's list names and the catalogue each fills.
FILE_LISTS = {"programmes": "programme", "funding_sources": "funding_source", "bodies": "body",
              "measures": "measure", "activity_kinds": "activity_kind"}
# What the history keeps of an entry.
SNAPSHOT_FIELDS = ("name", "active", "fields")


BOOTSTRAP = history.BOOTSTRAP  # `updated_by` of what the data file wrote


def read_file(path: Path = DATA_FILE) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


def changed_event(item: CatalogueEntry) -> Event:
    payload = {"catalogue": item.catalogue, "code": item.code, "name": item.name, "active": item.active,
               **item.fields}
    return Event(type="support.catalogue.changed", producer="support", subject_id=f"{item.catalogue}:{item.code}",
                 version=item.version, payload=payload)


def _history(session: AsyncSession, principal: Principal | None, item: CatalogueEntry,
             before: dict[str, Any] | None) -> None:
    history.record(session, CatalogueHistory, principal, item, "added" if before is None else "changed",
                   SNAPSHOT_FIELDS, before=before, catalogue=item.catalogue, code=item.code)


def checked_fields(catalogue: str, fields: dict[str, Any], field_prefix: str = "fields") -> dict[str, Any]:
    try:
        return FIELDS[catalogue].model_validate(fields).model_dump(mode="json")
    except ValidationError as exc:
        errors = [{"field": ".".join([field_prefix, *(str(p) for p in e["loc"])]), "reason": e["msg"]}
                  for e in exc.errors()]
        raise Problem(422, "validation_error", "Invalid request",
                      "; ".join(f"{e['field']}: {e['reason']}" for e in errors), errors=errors) from exc


async def _check_measures(session: AsyncSession, catalogue: str, fields: dict[str, Any]) -> None:
    if catalogue not in ("programme", "activity_kind"):
        return
    known = {e.code for e in await repository.entries(session, "measure")}
    unknown = sorted(set(fields["measures"]) - known)
    if unknown:
        raise Problem(422, "unknown_measure", "Unknown measure", f"Not in the measures catalogue: {', '.join(unknown)}",
                      field="fields.measures", errors=[{"field": "fields.measures", "reason": f"unknown {m}"}
                                                       for m in unknown])


def _check_owner(principal: Principal, owner_path: str | None, body: EntryIn, fields: dict[str, Any]) -> None:
    if not rules.may_change(owner_path, principal.scope_paths):
        whose = "the national level" if owner_path is None else f"unit {owner_path}"
        raise forbidden(f"{body.catalogue} {body.entry} belongs to {whose}; only its officers may change it. "
                        "Nothing was changed.", entry=body.entry, owner_path=owner_path)
    if body.catalogue == "programme":
        refusal = rules.owner_level_refusal(owner_path, fields["owner_level"])
        if refusal:
            raise forbidden(f"fields.owner_level: {refusal}. Nothing was changed.", field="fields.owner_level",
                            owner_path=owner_path)


async def save_entry(session: AsyncSession, principal: Principal, body: EntryIn,
                     if_match: str | None) -> tuple[CatalogueEntry, bool]:
    """Add an entry (owned by the caller's unit, or national for the national level), or replace an
    existing one's name, fields and active flag (If-Match required; its owner only)."""
    fields = checked_fields(body.catalogue, body.fields)
    await _check_measures(session, body.catalogue, fields)
    item = await repository.entry(session, body.catalogue, body.entry, lock=True)
    created = item is None
    before = None if item is None else history.snapshot(item, SNAPSHOT_FIELDS)
    if item is None:
        owner = rules.owner_of_new_entry(principal.scope_paths)
        _check_owner(principal, owner, body, fields)
        item = CatalogueEntry(catalogue=body.catalogue, code=body.entry, name=body.name, fields=fields,
                              active=body.active, version=1, updated_by=principal.id, updated_at=clock.now(),
                              owner_path=owner)
        session.add(item)
    else:
        if not rules.visible_to(item.owner_path, principal.scope_paths):
            # Codes are one national namespace; another unit's entry is not this caller's to see.
            raise conflict("catalogue_code_taken", f"The {body.catalogue} code {body.entry} is taken; choose "
                           "another code. Nothing was changed.", field="entry")
        _check_owner(principal, item.owner_path, body, fields)
        check_if_match(if_match, item.version)
        item.name, item.fields, item.active = body.name, fields, body.active
        item.version += 1
        item.updated_by, item.updated_at = principal.id, clock.now()
    await session.flush()
    _history(session, principal, item, before)
    await record_events(session, [changed_event(item)])
    return item, created


async def load_file(session: AsyncSession, data: dict[str, Any] | None = None) -> int:
    """Adds the file's entries that are missing, and brings up to date those only the bootstrap ever
    wrote; an entry an officer edited (or added under the same code) is left as the officer left it.
    A second run changes nothing and emits nothing."""
    data = data if data is not None else read_file()
    held = {(e.catalogue, e.code): e for e in await repository.entries(session)}
    events = []
    for list_name, catalogue in FILE_LISTS.items():
        for raw in data.get(list_name, []):
            code, name = raw["code"], raw["name"]
            fields = checked_fields(catalogue, {k: v for k, v in raw.items() if k not in ("code", "name")},
                                    f"{list_name}.{code}")
            item = held.get((catalogue, code))
            before = None if item is None else history.snapshot(item, SNAPSHOT_FIELDS)
            if item is None:
                item = CatalogueEntry(catalogue=catalogue, code=code, name=name, fields=fields, active=True,
                                      version=1, updated_by=BOOTSTRAP, updated_at=clock.now())
                session.add(item)
            elif item.updated_by != BOOTSTRAP or item.owner_path is not None or (
                    item.name == name and item.fields == fields):
                continue
            else:
                item.name, item.fields, item.version = name, fields, item.version + 1
                item.updated_by, item.updated_at = BOOTSTRAP, clock.now()
            _history(session, None, item, before)
            events.append(item)
    await session.flush()
    await record_events(session, [changed_event(i) for i in events])
    return len(events)
