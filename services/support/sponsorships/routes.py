"""Sponsorships: /support/sponsorships/..."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from fastapi import APIRouter, Request, Response

from services.support import history
from services.support.dependencies import (
    DbSession,
    Hierarchy,
    IdempotencyKey,
    IfMatch,
    Page,
    Paging,
    Reader,
    RecordAnswers,
    UnitCode,
    Writer,
    check_if_match,
    idempotent,
    paginate,
    problems,
)
from services.support.households import repository as units
from services.support.sponsorships import repository, rules, service
from services.support.sponsorships.models import Sponsorship, SponsorshipHistory
from services.support.sponsorships.schemas import (
    EndIn,
    Progress,
    ProgressOut,
    SponsorshipIn,
    SponsorshipOut,
    SponsorshipWithProgress,
)
from shared import clock

router = APIRouter(prefix="/support/sponsorships", tags=["support sponsorships"])


def out(item: Sponsorship) -> SponsorshipOut:
    """`status` as of today: a pairing past its `ends_on` answers `ended` even if nobody ended it."""
    answer = SponsorshipOut.model_validate(item, from_attributes=True)
    return answer.model_copy(update={"status": rules.effective_status(item.status, item.ends_on, clock.today())})


_json = RecordAnswers(out, "/support/sponsorships")


@router.post("", status_code=201, response_model=SponsorshipOut, responses=problems(404),
             summary="Start a sponsorship: a helper, the households helped, a commitment (Idempotency-Key accepted)")
async def start_sponsorship(body: SponsorshipIn, request: Request, principal: Writer, session: DbSession,
                            idempotency_key: IdempotencyKey = None) -> Response:
    async def run() -> Response:
        return _json(await service.start(session, principal, body), created=True)

    return await idempotent(request, session, principal, run)


@router.get("", response_model=Page[SponsorshipWithProgress], responses=problems(404),
            summary="Sponsorships in your scope (the active pairings of a unit: status=active), each with what it "
                    "delivered against its commitment",
            description="`status=active`: not ended and not past its `ends_on` today; `status=ended`: ended or past "
                        "its `ends_on` (each item's `status` says the same). Each item's `progress` is what "
                        "`/{id}/progress` answers.")
async def list_sponsorships(principal: Reader, session: DbSession, paging: Paging,
                            unit: UnitCode = None, hierarchy: Hierarchy = None,
                            status: Literal["active", "ended"] | None = None,
                            kind: str | None = None,
                            household_id: UUID | None = None) -> Page[SponsorshipWithProgress]:
    path = (await units.visible_unit(session, principal, unit, hierarchy)).path if unit else None
    query = repository.sponsorships(path, status=status, kind=kind, household_id=household_id, today=clock.today())
    listed: list[Sponsorship] = []

    def keep(item: Sponsorship) -> SponsorshipOut:
        listed.append(item)
        return out(item)

    page = await paginate(session, query, paging, keep)
    progress = await service.progress_of(session, listed)
    items = [SponsorshipWithProgress(**answer.model_dump(), progress=Progress(**progress[item.id]))
             for item, answer in zip(listed, page.items, strict=True)]
    return Page[SponsorshipWithProgress](items=items, total=page.total, limit=page.limit, offset=page.offset)


@router.get("/{sponsorship_id}", response_model=SponsorshipOut, responses=problems(404), summary="A sponsorship")
async def get_sponsorship(sponsorship_id: UUID, principal: Reader, session: DbSession) -> Response:
    return _json(await service.load(session, sponsorship_id))


@router.get("/{sponsorship_id}/progress", response_model=ProgressOut, responses=problems(404),
            summary="What the deliveries linked to it brought against its commitment")
async def sponsorship_progress(sponsorship_id: UUID, principal: Reader, session: DbSession) -> ProgressOut:
    item = await service.load(session, sponsorship_id)
    return ProgressOut(sponsorship=out(item), **await service.progress(session, item))


@router.post("/{sponsorship_id}/end", response_model=SponsorshipOut, responses=problems(404, 409, 412, 428),
             summary="End a sponsorship with a date and a reason (If-Match required)")
async def end_sponsorship(sponsorship_id: UUID, body: EndIn, principal: Writer, session: DbSession,
                          if_match: IfMatch = None) -> Response:
    item = await service.load(session, sponsorship_id, lock=True)
    check_if_match(if_match, item.version)
    return _json(await service.end(session, principal, item, body))


@router.get("/{sponsorship_id}/history", response_model=Page[history.HistoryOut], responses=problems(404),
            summary="Every change of a sponsorship (started, ended): who, when, why, before and after")
async def sponsorship_history(sponsorship_id: UUID, principal: Reader, session: DbSession,
                              paging: Paging) -> Page[history.HistoryOut]:
    item = await service.load(session, sponsorship_id)
    return await history.page(session, paging, SponsorshipHistory, sponsorship_id=item.id)
