"""Recognition: a decision makes assessments official.

For each (household, assessment): the transition against the household's previous recognised
status, the household's new status and version, a history entry, a `registry.household.assessed`
event, and a certificate number for households recognised poor or near-poor. Used by the annual
review's approval and by regular-review decisions.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry import events
from services.registry.households import history
from services.registry.households.models import Assessment, Household
from services.registry.households.transitions import POOR, transition
from services.registry.reviews.certificates import RECOGNISED_STATUSES, issue
from shared.events import Event, record_events
from shared.principal import Principal


async def recognise(session: AsyncSession, principal: Principal, pairs: list[tuple[Household, Assessment]], *,
                    unit_path: str, commune_code: str, year: int, decided_on: date, source: str,
                    review_id: UUID | None = None, regular_review_id: UUID | None = None) -> Counter[str]:
    """Apply the assessments; answers the count of households per transition code."""
    now = datetime.now(UTC)
    transitions: Counter[str] = Counter()
    out: list[Event] = []
    holders: list[tuple[UUID, str]] = []
    for household, assessment in pairs:
        previous = household.status
        code = transition(previous, assessment.status, household.ever_poor)
        transitions[code] += 1
        assessment.state, assessment.recognised_at = "recognised", now
        assessment.previous_status, assessment.transition = previous, code
        assessment.review_id, assessment.regular_review_id = review_id, regular_review_id
        assessment.member_count = household.member_count
        before = {"status": previous, "status_year": household.status_year}
        household.status, household.status_year = assessment.status, assessment.review_year
        household.ever_poor = household.ever_poor or assessment.status == POOR
        household.version += 1
        household.updated_at = now
        history.record(session, principal, household, "recognised", before,
                       {"status": household.status, "status_year": household.status_year, "transition": code,
                        "assessment_id": str(assessment.id)})
        out.append(events.household_assessed(household, assessment, previous, code))
        if assessment.status in RECOGNISED_STATUSES:
            holders.append((household.id, assessment.status))
    numbers = await issue(session, unit_path=unit_path, commune_code=commune_code, year=year, issued_on=decided_on,
                          source=source, holders=holders, review_id=review_id, regular_review_id=regular_review_id)
    for household, assessment in pairs:
        assessment.certificate_number = numbers.get(household.id)
    await session.flush()
    await record_events(session, out)
    return transitions
