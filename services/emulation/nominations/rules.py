"""The nomination workflow, pure: states and moves as data, who may award what on a date, the dossier,
the council vote, quotas. Law 06/2022/QH15; the powers by date are the award catalogue's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.emulation.catalogue import rules as catalogue
from shared.errors import Problem
from shared.scope import ancestors, level_of

DRAFT, SUBMITTED, APPRAISING, RETURNED = "draft", "submitted", "under_appraisal", "returned"
VOTED, DECIDED, REJECTED = "voted", "decided", "rejected"
# action: (the states it may start from, the state it leads to)
MOVES: dict[str, tuple[frozenset[str], str]] = {
    "submit": (frozenset({DRAFT, RETURNED}), SUBMITTED),
    "appraise": (frozenset({SUBMITTED}), APPRAISING),
    "return": (frozenset({SUBMITTED, APPRAISING, VOTED}), RETURNED),
    "forward": (frozenset({APPRAISING}), SUBMITTED),  # to the level above, which appraises it in turn
    "vote": (frozenset({APPRAISING}), VOTED),
    "decide": (frozenset({APPRAISING, VOTED}), DECIDED),
    "reject": (frozenset({SUBMITTED, APPRAISING, VOTED}), REJECTED),
}
EDITABLE = frozenset({DRAFT, RETURNED})
# A submitted nomination holds a place in its unit's quota until it is rejected.
HOLDS_QUOTA = frozenset({SUBMITTED, APPRAISING, RETURNED, VOTED, DECIDED})
DOSSIER_KINDS = {"submission": "Tờ trình", "achievement_report": "Báo cáo thành tích",
                 "meeting_minutes": "Biên bản họp xét"}


@dataclass(frozen=True)
class Route:
    """Where a nomination of a unit goes: its chain of levels, and the lowest that may award the form."""
    chain: tuple[str, ...]  # the nominating unit's path and the paths above it, up to the hierarchy (national)
    awarding_path: str


def move(action: str, state: str) -> str:
    starts, ends = MOVES[action]
    if state not in starts:
        raise Problem(409, "invalid_transition", "Not allowed now",
                      f"A nomination that is {state} cannot be {action}ed "
                      f"(only from {', '.join(sorted(starts))}).", state=state, action=action)
    return ends


def chain_of(unit_path: str) -> tuple[str, ...]:
    """`v2008.24.213.07207` → the commune, its district, its province, the hierarchy (national level)."""
    return tuple(reversed([unit_path.split(".")[0], *ancestors(unit_path)]))


def check_fits(form_code: str, nominee_kind: str) -> catalogue.Form:
    form = catalogue.form(form_code)
    if form is None:
        raise Problem(422, "validation_error", "Invalid request", f"Unknown form {form_code}.",
                      errors=[{"field": "form", "reason": "not in the award catalogue"}])
    if nominee_kind not in form.nominee_kinds:
        raise Problem(422, "form_does_not_fit", "Form does not fit the nominee",
                      f"{form.name} is not awarded to a {nominee_kind}.",
                      errors=[{"field": "nominee.kind", "reason": f"{form.name} goes to "
                               f"{', '.join(form.nominee_kinds)}"}])
    return form


def route(unit_path: str, form: catalogue.Form, on: date) -> Route:
    """The lowest level at or above the nominating unit that awards the form on `on`; refused (422
    `form_not_awardable`) when none does — the unit can neither award it nor forward it to a level that can."""
    chain = chain_of(unit_path)
    for path in chain:
        if catalogue.can_award(level_of(path), form, on):
            return Route(chain, path)
    raise Problem(422, "form_not_awardable", "No level can award this form from here",
                  f"{form.name} is awarded by {', '.join(catalogue.awarding_levels(form, on)) or 'no level'} on "
                  f"{on}; no level from {unit_path} upward holds that power.",
                  errors=[{"field": "form", "reason": "no level at or above the unit awards it"}])


def forward_to(handler_path: str, unit_path: str, form: catalogue.Form, on: date) -> str:
    """The level above the handler; refused when the handler holds the power itself (it decides)."""
    if catalogue.can_award(level_of(handler_path), form, on):
        raise Problem(409, "within_power", "Decide it here",
                      f"{form.name} is within the power of {handler_path} ({level_of(handler_path)}): "
                      "decide or reject it; it is not forwarded.")
    chain = chain_of(unit_path)
    above = chain[chain.index(handler_path) + 1:]
    if not above:
        raise Problem(409, "nowhere_to_forward", "No level above", f"{handler_path} has no level above it.")
    return above[0]


def check_dossier(kinds: list[str]) -> None:
    missing = [k for k in DOSSIER_KINDS if k not in kinds]
    if missing:
        raise Problem(422, "incomplete_dossier", "Incomplete dossier",
                      "The dossier lacks: " + ", ".join(DOSSIER_KINDS[k] for k in missing) + ".",
                      errors=[{"field": "dossier", "reason": f"missing {k} ({DOSSIER_KINDS[k]})"} for k in missing])


def check_decision(form: catalogue.Form, handler_path: str, state: str, decision_date: date, submitted_on: date,
                   today: date, votes: tuple[int, int] | None) -> str:
    """The awarding level's name on the decision date (stored as it was then); refuses a decision outside
    the level's power that day, without the council vote the form needs, against the vote, or misdated."""
    level = level_of(handler_path)
    if not submitted_on <= decision_date <= today:
        raise Problem(422, "validation_error", "Invalid request", "decision_date must be between the submission "
                      "and today.", errors=[{"field": "decision_date", "reason": "before the submission or future"}])
    if not catalogue.can_award(level, form, decision_date):
        raise Problem(422, "not_within_power", "Not within this level's power",
                      f"On {decision_date} {form.name} is awarded by "
                      f"{', '.join(catalogue.awarding_levels(form, decision_date))}, not by the {level}.",
                      errors=[{"field": "decision_date", "reason": f"the {level} does not award it on that date"}])
    if form.council_vote and state != VOTED:
        raise Problem(422, "council_vote_required", "Council vote required",
                      f"{form.name} is decided after the emulation council's vote: record the vote first.")
    if votes is not None and votes[0] <= votes[1]:
        raise Problem(422, "council_voted_against", "The council did not approve",
                      f"The council voted {votes[0]} for and {votes[1]} against: reject it or return it.")
    return catalogue.authority(level)


def check_vote(votes_for: int, votes_against: int, voted_on: date, submitted_on: date, today: date) -> None:
    if not submitted_on <= voted_on <= today:
        raise Problem(422, "validation_error", "Invalid request", "voted_on must be between the submission "
                      "and today.", errors=[{"field": "voted_on", "reason": "before the submission or future"}])
    if votes_for + votes_against == 0:
        raise Problem(422, "validation_error", "Invalid request", "A vote needs at least one vote cast.",
                      errors=[{"field": "votes_for", "reason": "no vote cast"}])


def check_quota(quota: int | None, used: int, form: str, year: int, unit_path: str) -> None:
    if quota is not None and used >= quota:
        raise Problem(409, "quota_exceeded", "Quota exceeded",
                      f"{unit_path} may submit {quota} nominations for {form} in {year}; {used} are submitted.",
                      quota=quota, used=used, form=form, year=year)


def acts_at(scope_paths: list[str], handler_path: str, everything: bool) -> bool:
    """The emulation board acts at its own level: its scope is the handler's unit (or it holds `*`)."""
    return everything or handler_path in scope_paths
