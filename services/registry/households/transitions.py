"""A household's transition between its previous recognised status and the new one (DOMAIN.md codes)."""

from __future__ import annotations

POOR, NEAR_POOR = "poor", "near_poor"
TRANSITIONS = ("newly_poor", "re_poor", "escaped_poverty", "escaped_near_poverty", "became_near_poor", "stayed")


def transition(previous: str | None, current: str, ever_poor: bool) -> str:
    """`previous` is None for a household never recognised before; `ever_poor` says it was poor at
    some earlier review (so poor again is re-poor, not newly poor).

    Leaving poverty for near-poverty counts as escaping poverty (thoát nghèo), as the ministry counts it.
    """
    if current == previous:
        return "stayed"
    if current == POOR:
        return "re_poor" if ever_poor else "newly_poor"
    if previous == POOR:
        return "escaped_poverty"
    if previous == NEAR_POOR:
        return "escaped_near_poverty"
    if current == NEAR_POOR:
        return "became_near_poor"
    return "stayed"  # between middle-income, not poor and never assessed: not a poverty transition
