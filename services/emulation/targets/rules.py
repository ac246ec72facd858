"""Targets handed down and registrations: the indicators, how children's targets cover the parent's,
and what a registrant may seek. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from services.emulation.catalogue import rules as catalogue
from shared.errors import Problem


@dataclass(frozen=True)
class Indicator:
    name: str
    measure_unit: str
    # "sum": the children's targets add up to at least the parent's (houses, money, households);
    # "weighted_mean": a rate in percentage points: the children's mean, weighted by their households
    # (equal weights while the households are not all known), is at least the parent's.
    cover: str


INDICATORS = {
    "poor_rate_reduction": Indicator("Giảm tỷ lệ hộ nghèo", "percentage_points", "weighted_mean"),
    "near_poor_rate_reduction": Indicator("Giảm tỷ lệ hộ cận nghèo", "percentage_points", "weighted_mean"),
    "households_escaping_poverty": Indicator("Số hộ thoát nghèo", "households", "sum"),
    "temporary_houses_removed": Indicator("Xóa nhà tạm, nhà dột nát", "houses", "sum"),
    "fund_raised": Indicator("Vận động Quỹ Vì người nghèo", "vnd", "sum"),
    "support_delivered": Indicator("Kinh phí hỗ trợ hộ nghèo", "vnd", "sum"),
    "propaganda_sessions": Indicator("Buổi tuyên truyền, hội nghị", "sessions", "sum"),
}

# Who registers, and the nominee kind the title sought must fit.
REGISTRANT_KINDS = {"unit": "collective", "body": "collective", "enterprise": "collective",
                    "household": "household", "individual": "individual"}
REGISTERED, ACHIEVED, NOT_ACHIEVED, WITHDRAWN = "registered", "achieved", "not_achieved", "withdrawn"
REGISTRATION_MOVES = {REGISTERED: {ACHIEVED, NOT_ACHIEVED, WITHDRAWN}, ACHIEVED: set(), NOT_ACHIEVED: set(),
                      WITHDRAWN: set()}


def covered_value(indicator: str, children: list[tuple[Decimal, int | None]]) -> Decimal:
    """What a set of children's targets amounts to at the parent's level: (value, households) each."""
    values = [v for v, _ in children]
    if not values:
        return Decimal(0)
    if INDICATORS[indicator].cover == "sum":
        return sum(values, Decimal(0))
    weights = [w for _, w in children]
    if any(w is None or w <= 0 for w in weights):
        mean = sum(values, Decimal(0)) / len(values)
    else:
        mean = sum((v * w for v, w in children if w), Decimal(0)) / sum(w for w in weights if w)
    return mean.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def check_cover(indicator: str, parent_path: str, parent_value: Decimal,
                children: dict[str, tuple[Decimal, int | None]]) -> Decimal:
    """Refuses (422 `targets_do_not_cover`, with the numbers) children's targets that do not cover the parent's."""
    covered = covered_value(indicator, list(children.values()))
    if covered < parent_value:
        how = "add up to" if INDICATORS[indicator].cover == "sum" else "average (weighted by households)"
        raise Problem(422, "targets_do_not_cover", "Targets do not cover the parent's",
                      f"The children's {indicator} targets {how} {covered}, less than {parent_value} "
                      f"set for {parent_path}.", indicator=indicator, parent_path=parent_path,
                      parent_value=str(parent_value), covered=str(covered), shortfall=str(parent_value - covered),
                      children={p: str(v) for p, (v, _) in sorted(children.items())})
    return covered


def check_title(registrant_kind: str, title: str) -> None:
    form = catalogue.form(title)
    if form is None:
        raise Problem(422, "validation_error", "Invalid request", f"Unknown title {title}.",
                      errors=[{"field": "title_sought", "reason": "not in the award catalogue"}])
    kind = REGISTRANT_KINDS[registrant_kind]
    if kind not in form.nominee_kinds:
        raise Problem(422, "form_does_not_fit", "Form does not fit the registrant",
                      f"{form.name} is not awarded to a {kind} ({registrant_kind}).",
                      errors=[{"field": "title_sought", "reason": f"not awarded to a {kind}"}])


def check_move(current: str, wanted: str) -> None:
    if wanted not in REGISTRATION_MOVES[current]:
        raise Problem(409, "invalid_transition", "Not allowed now",
                      f"A registration that is {current} cannot become {wanted}.", state=current)
