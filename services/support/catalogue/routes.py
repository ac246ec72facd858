"""The catalogue: /support/catalogue (programmes, funding sources, bodies, measures, activity kinds)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from services.support.catalogue import repository, service
from services.support.catalogue.models import CatalogueEntry
from services.support.catalogue.schemas import EntryIn, EntryOut
from services.support.dependencies import DbSession, Editor, IfMatch, Reader, etag_of, problems

router = APIRouter(prefix="/support/catalogue", tags=["support catalogue"])
CatalogueName = Literal["programme", "funding_source", "body", "measure", "activity_kind"]


def out(item: CatalogueEntry) -> EntryOut:
    return EntryOut(catalogue=item.catalogue, entry=item.code, name=item.name, active=item.active,
                    version=item.version, fields=item.fields, owner_path=item.owner_path)


@router.get("", response_model=list[EntryOut], summary="The catalogue, one list or all")
async def list_entries(principal: Reader, session: DbSession,
                       catalogue: Annotated[CatalogueName | None, Query()] = None,
                       include_inactive: bool = False) -> list[EntryOut]:
    return [out(e) for e in await repository.entries(session, catalogue, include_inactive)]


@router.post("", response_model=EntryOut, responses={**problems(403, 412, 428), 201: {"model": EntryOut,
                                                                                  "description": "Added"}},
             summary="Add an entry, or change one (If-Match of the entry required to change it)",
             description="Province officers and admins. An entry is changed only by the unit that owns it "
                         "(`owner_path`; national entries, those of the data file, by the national level: 403 "
                         "otherwise); an entry a province officer adds belongs to the province. "
                         "Amounts are dated `standards`: add an entry with a new "
                         "`valid_from` rather than changing an old one. Emits `support.catalogue.changed`.")
async def save_entry(body: EntryIn, principal: Editor, session: DbSession, if_match: IfMatch = None) -> JSONResponse:
    item, created = await service.save_entry(session, principal, body, if_match)
    return JSONResponse(out(item).model_dump(mode="json"), status_code=201 if created else 200,
                        headers={"ETag": etag_of(item.version)})
