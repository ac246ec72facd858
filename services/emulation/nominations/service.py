"""Use cases of nominations (the workflow of rules.MOVES), quotas, awards and their revocation."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.emulation import events
from services.emulation.catalogue import rules as catalogue
from services.emulation.households.service import check as check_household
from services.emulation.models import Award, Nomination, Quota
from services.emulation.nominations import repository, rules
from services.emulation.nominations.certificate import CertificateFields, render
from services.emulation.nominations.schemas import (
    Comment,
    Decision,
    NominationEdit,
    NominationIn,
    QuotaIn,
    Revocation,
    Vote,
)
from services.emulation.units.service import by_path, check_in_movement, locate
from shared import clock
from shared.errors import Problem, forbidden
from shared.events import record_events, uuid7
from shared.principal import Principal
from shared.scope import level_of, path_within, unit_code_of


def awarding_path(item: Nomination) -> str:
    form = catalogue.form(item.form)
    assert form is not None
    return rules.route(item.unit_path, form, item.submitted_on or clock.today()).awarding_path


def _dossier(items: list[Any]) -> list[dict[str, Any]]:
    return [i.model_dump(mode="json") for i in items]


def _log(item: Nomination, principal: Principal, action: str, **extra: Any) -> None:
    item.history = [*item.history, {"action": action, "at": clock.now().isoformat(), "by": principal.id,
                                    "by_name": principal.name, "state": item.state,
                                    "handler_path": item.handler_path, **extra}]


async def create(session: AsyncSession, principal: Principal, body: NominationIn) -> Nomination:
    unit = await locate(session, principal, body.unit, body.hierarchy)
    form = rules.check_fits(body.form, body.nominee.kind)
    rules.route(unit.path, form, clock.today())  # refused now if no level from here can award it
    await check_in_movement(session, principal, unit, body.movement_id)
    nominee_unit = None
    if body.nominee.unit_code is not None:
        if body.nominee.kind != "collective":
            raise Problem(422, "validation_error", "Invalid request", "Only a collective is a unit.",
                          errors=[{"field": "nominee.unit_code", "reason": "only for a collective"}])
        nominee_unit = await locate(session, principal, body.nominee.unit_code, unit.hierarchy)
        if not path_within(nominee_unit.path, unit.path):
            raise Problem(422, "validation_error", "Invalid request", "A unit nominates itself or units below it.",
                          errors=[{"field": "nominee.unit_code", "reason": "not the nominating unit or below it"}])
    if (body.nominee.household_id is not None) != (body.nominee.kind == "household"):
        raise Problem(422, "validation_error", "Invalid request", "A household is named by its registry id.",
                      errors=[{"field": "nominee.household_id", "reason": "required for a household, only for one"}])
    if body.nominee.household_id is not None:
        await check_household(session, principal, body.nominee.household_id, unit.path, "nominee.household_id")
    item = Nomination(id=uuid7(), unit_path=unit.path, movement_id=body.movement_id, year=body.year, form=form.code,
                      nominee_kind=body.nominee.kind, nominee_name=body.nominee.name, nominee_role=body.nominee.role,
                      nominee_unit_path=nominee_unit.path if nominee_unit else None,
                      household_id=str(body.nominee.household_id) if body.nominee.household_id else None,
                      achievements=body.achievements, dossier=_dossier(body.dossier), state=rules.DRAFT,
                      handler_path=unit.path, history=[], version=1, created_by=principal.id,
                      created_at=clock.now())
    _log(item, principal, "create")
    session.add(item)
    await session.flush()
    return item


async def edit(session: AsyncSession, principal: Principal, nomination_id: UUID, body: NominationEdit,
               check: Any) -> Nomination:
    item = await repository.nomination(session, nomination_id, lock=True)
    check(item.version)
    if item.state not in rules.EDITABLE:
        raise Problem(409, "not_editable", "Not editable", f"A {item.state} nomination cannot be changed.")
    if body.achievements is not None:
        item.achievements = body.achievements
    if body.dossier is not None:
        item.dossier = _dossier(body.dossier)
    item.version += 1
    _log(item, principal, "edit")
    await session.flush()
    return item


async def submit(session: AsyncSession, principal: Principal, nomination_id: UUID) -> Nomination:
    item = await repository.nomination(session, nomination_id, lock=True)
    if not principal.can_reach(item.unit_path):
        raise forbidden("Only the nominating unit submits its nominations.")
    resubmission = item.state == rules.RETURNED
    new_state = rules.move("submit", item.state)
    rules.check_dossier([d["kind"] for d in item.dossier])
    form = catalogue.form(item.form)
    assert form is not None
    today = clock.today()
    rules.route(item.unit_path, form, today)
    if not resubmission:  # a returned one keeps the place it holds
        quota = await repository.quota_locked(session, item.unit_path, item.form, item.year)
        if quota is not None:
            rules.check_quota(quota.quota, await repository.used(session, item.unit_path, item.form, item.year),
                              item.form, item.year, item.unit_path)
        item.submitted_on = today
    item.state, item.comment = new_state, None
    item.version += 1
    _log(item, principal, "submit")
    await session.flush()
    await record_events(session, [events.nomination(item, events.NOMINATION_SUBMITTED)])
    return item


async def _handled(session: AsyncSession, principal: Principal, nomination_id: UUID) -> Nomination:
    item = await repository.nomination(session, nomination_id, lock=True)
    if not rules.acts_at(principal.scope_paths, item.handler_path, principal.has("*")):
        raise forbidden(f"This nomination is with {item.handler_path}; its emulation board acts on it.",
                        handler_path=item.handler_path)
    return item


async def act(session: AsyncSession, principal: Principal, nomination_id: UUID, action: str,
              body: Comment | Vote | None = None) -> Nomination:
    """appraise, return (with comments), forward (to the level above), vote, reject (with a reason)."""
    item = await _handled(session, principal, nomination_id)
    new_state = rules.move(action, item.state)
    form = catalogue.form(item.form)
    assert form is not None and item.submitted_on is not None
    extra: dict[str, Any] = {}
    emitted = None
    if action == "forward":
        item.handler_path = rules.forward_to(item.handler_path, item.unit_path, form, clock.today())
        emitted = events.NOMINATION_FORWARDED
    elif action in ("return", "reject"):
        assert isinstance(body, Comment)
        item.comment = body.comment
        extra["comment"] = body.comment
        emitted = events.NOMINATION_RETURNED if action == "return" else events.NOMINATION_REJECTED
    elif action == "vote":
        assert isinstance(body, Vote)
        rules.check_vote(body.votes_for, body.votes_against, body.voted_on, item.submitted_on, clock.today())
        item.votes_for, item.votes_against, item.voted_on = body.votes_for, body.votes_against, body.voted_on
        extra = {"votes_for": body.votes_for, "votes_against": body.votes_against}
    item.state = new_state
    item.version += 1
    _log(item, principal, action, **extra)
    await session.flush()
    if emitted:
        await record_events(session, [events.nomination(item, emitted)])
    return item


async def decide(session: AsyncSession, principal: Principal, nomination_id: UUID, body: Decision) -> Award:
    item = await _handled(session, principal, nomination_id)
    new_state = rules.move("decide", item.state)
    form = catalogue.form(item.form)
    assert form is not None and item.submitted_on is not None
    votes = (item.votes_for or 0, item.votes_against or 0) if item.state == rules.VOTED else None
    authority = rules.check_decision(form, item.handler_path, item.state, body.decision_date, item.submitted_on,
                                     clock.today(), votes)
    multiplier, salary, amount = catalogue.prize(form, item.nominee_kind, body.decision_date)
    number = await repository.certificates_of_decision(session, item.handler_path, body.decision_number) + 1
    award = Award(id=uuid7(), nomination_id=item.id, unit_path=item.unit_path, movement_id=item.movement_id,
                  year=item.year, form=item.form, nominee_kind=item.nominee_kind, nominee_name=item.nominee_name,
                  decision_number=body.decision_number, decision_date=body.decision_date, signer=body.signer,
                  awarding_path=item.handler_path, awarding_level=level_of(item.handler_path),
                  awarding_authority=authority, prize_multiplier=multiplier, base_salary=salary, prize_amount=amount,
                  certificate_number=f"{unit_code_of(item.handler_path)}/{body.decision_number}/{number}",
                  version=1)
    item.state = new_state
    item.version += 1
    _log(item, principal, "decide", decision_number=body.decision_number)
    session.add(award)
    await session.flush()
    await record_events(session, [events.nomination(item, events.NOMINATION_DECIDED, award)])
    return award


async def revoke(session: AsyncSession, principal: Principal, award_id: UUID, body: Revocation) -> Award:
    """Law 06/2022 chapter VII: an award obtained by false claims is revoked and the prize recovered."""
    award = await repository.award(session, award_id)
    if not rules.acts_at(principal.scope_paths, award.awarding_path, principal.has("*")):
        raise forbidden(f"Only the awarding level ({award.awarding_path}) revokes its award.")
    if award.revoked_on is not None:
        raise Problem(409, "already_revoked", "Already revoked", "This award was revoked already.")
    if not award.decision_date <= body.decision_date <= clock.today():
        raise Problem(422, "validation_error", "Invalid request", "decision_date must be after the award and "
                      "not in the future.", errors=[{"field": "decision_date", "reason": "out of range"}])
    if body.recovered_amount is not None and body.recovered_amount > (award.prize_amount or 0):
        raise Problem(422, "validation_error", "Invalid request", "More recovered than was paid.",
                      errors=[{"field": "recovered_amount", "reason": f"more than the prize {award.prize_amount}"}])
    award.revoked_on = body.decision_date
    award.revocation = {"reason": body.reason, "decision_number": body.decision_number,
                        "decision_date": body.decision_date.isoformat(), "recovered_amount": body.recovered_amount}
    award.version += 1
    await session.flush()
    await record_events(session, [events.revoked(award)])
    return award


async def set_quota(session: AsyncSession, principal: Principal, body: QuotaIn) -> Quota:
    """A quota is given by the level directly above the unit."""
    unit = await locate(session, principal, body.unit, body.hierarchy)
    if catalogue.form(body.form) is None:
        raise Problem(422, "validation_error", "Invalid request", f"Unknown form {body.form}.",
                      errors=[{"field": "form", "reason": "not in the award catalogue"}])
    if unit.parent_path is None or not principal.can_reach(unit.parent_path):
        raise forbidden(f"A quota of {unit.path} is given by the level above it ({unit.parent_path}).")
    quota = await repository.quota_locked(session, unit.path, body.form, body.year)
    if quota is None:
        quota = Quota(id=uuid7(), unit_path=unit.path, form=body.form, year=body.year, version=0)
        session.add(quota)
    quota.quota, quota.set_by_path = body.quota, unit.parent_path
    quota.version += 1
    await session.flush()
    return quota




async def certificate(session: AsyncSession, award_id: UUID) -> tuple[Award, bytes]:
    """The award's certificate as a DOCX (nominations/certificate.py); read by whoever reads the award.
    A revoked award has no valid certificate: 409 `award_revoked`."""
    award = await repository.award(session, award_id, lock=False)
    if award.revoked_on is not None:
        raise Problem(409, "award_revoked", "Award revoked",
                      f"This award was revoked on {award.revoked_on.isoformat()}: its certificate is no longer valid.")
    nomination = await repository.nomination(session, award.nomination_id)
    form = catalogue.form(award.form)
    awarding_unit = await by_path(session, award.awarding_path)
    fields = CertificateFields(
        form_code=award.form, form_name=form.name if form else award.form,
        category=form.category if form else "award", nominee_kind=award.nominee_kind,
        nominee_name=award.nominee_name, nominee_role=nomination.nominee_role, achievements=nomination.achievements,
        year=award.year, decision_number=award.decision_number, decision_date=award.decision_date,
        signer=award.signer, awarding_level=award.awarding_level,
        awarding_unit_name=awarding_unit.name if awarding_unit else award.awarding_path,
        certificate_number=award.certificate_number)
    return award, await asyncio.to_thread(render, fields)
