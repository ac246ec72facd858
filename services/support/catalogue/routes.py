"""The catalogue: /support/catalogue (programmes, funding sources, bodies, measures, activity kinds)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from services.support import history
from services.support.catalogue import repository, rules, service
from services.support.catalogue.models import CatalogueEntry, CatalogueHistory
from services.support.catalogue.schemas import EntryIn, EntryOut
from services.support.dependencies import DbSession, Editor, IfMatch, Page, Paging, Reader, etag_of, problems
from shared.errors import not_found

router = APIRouter(prefix="/support/catalogue", tags=["support catalogue"])
CatalogueName = Literal["programme", "funding_source", "body", "measure", "activity_kind"]
EntryCode = Annotated[str, Query(pattern=r"^[a-z0-9_]{2,60}$", description="the entry's code")]


def out(item: CatalogueEntry) -> EntryOut:
    return EntryOut(catalogue=item.catalogue, entry=item.code, name=item.name, active=item.active,
                    version=item.version, fields=item.fields, owner_path=item.owner_path)


@router.get("", response_model=list[EntryOut], summary="The catalogue, one list or all")
async def list_entries(principal: Reader, session: DbSession,
                       catalogue: Annotated[CatalogueName | None, Query()] = None,
                       include_inactive: bool = False) -> list[EntryOut]:
    return [out(e) for e in await repository.entries(session, catalogue, include_inactive)
            if rules.visible_to(e.owner_path, principal.scope_paths)]


@router.post("", response_model=EntryOut, responses={**problems(403, 409, 412, 428), 201: {"model": EntryOut,
                                                                                  "description": "Added"}},
             summary="Add an entry, or change one (If-Match of the entry required to change it)",
             description="Province officers and admins. An entry is changed only by the unit that owns it "
                         "(`owner_path`; national entries, those of the data file, by the national level: 403 "
                         "otherwise); an entry a province officer adds belongs to the province and is used only "
                         "by records of its units. Codes are national: a code another province's entry holds "
                         "answers 409 `catalogue_code_taken` (nothing more about that entry). "
                         "Amounts are dated `standards`: add an entry with a new "
                         "`valid_from` rather than changing an old one. Emits `support.catalogue.changed`.")
async def save_entry(body: EntryIn, principal: Editor, session: DbSession, if_match: IfMatch = None) -> JSONResponse:
    item, created = await service.save_entry(session, principal, body, if_match)
    return JSONResponse(out(item).model_dump(mode="json"), status_code=201 if created else 200,
                        headers={"ETag": etag_of(item.version)})


@router.get("/history", response_model=Page[history.HistoryOut], responses=problems(404),
            summary="Every change of a catalogue entry (added, changed; by an editor or `bootstrap`, the set-up's "
                    "data file): who, when, before and after",
            description="Reference data: every reader sees the same history, as it sees the same catalogue.")
async def entry_history(catalogue: Annotated[CatalogueName, Query()], entry: EntryCode, principal: Reader,
                        session: DbSession, paging: Paging) -> Page[history.HistoryOut]:
    item = await repository.entry(session, catalogue, entry)
    if item is None or not rules.visible_to(item.owner_path, principal.scope_paths):
        raise not_found("catalogue entry", f"{catalogue}:{entry}")
    return await history.page(session, paging, CatalogueHistory, catalogue=catalogue, code=entry)
