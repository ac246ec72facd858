"""Events the reporting service consumes from other services, and the projection handling each type.

One durable consumer per producing stream; each feeds the projections of its domain folders
(`<domain>/projection.py`), and every handler also records how far its stream is applied
(`rp_progress`), in the same transaction.
"""

from __future__ import annotations

from services.reporting.emulation import projection as emulation
from services.reporting.poverty import projection as poverty
from services.reporting.progress.projection import EMULATION_CONSUMER, REGISTRY_CONSUMER, SUPPORT_CONSUMER, tracked
from services.reporting.reviews import projection as reviews
from services.reporting.support import projection as support
from services.reporting.units import projection as units
from shared.consumer import Consumer, Handler

REGISTRY_HANDLERS: dict[str, Handler] = {
    event_type: tracked(REGISTRY_CONSUMER, apply)
    for event_type, apply in {
        "registry.unit.changed": units.on_unit_changed,
        "registry.household.registered": poverty.on_registered,
        "registry.household.updated": poverty.on_registered,
        "registry.household.removed": poverty.on_removed,
        "registry.household.assessed": poverty.on_assessed,
        "registry.household.assessed_batch": poverty.on_assessed_batch,
        "registry.review.approved": reviews.on_review_approved,
    }.items()
}

REGISTRY = Consumer(name=REGISTRY_CONSUMER, producer="registry", handlers=REGISTRY_HANDLERS)

SUPPORT = Consumer(name=SUPPORT_CONSUMER, producer="support", handlers={
    event_type: tracked(SUPPORT_CONSUMER, apply) for event_type, apply in support.HANDLERS.items()})

EMULATION = Consumer(name=EMULATION_CONSUMER, producer="emulation", handlers={
    event_type: tracked(EMULATION_CONSUMER, apply) for event_type, apply in emulation.HANDLERS.items()})

CONSUMERS: list[Consumer] = [REGISTRY, SUPPORT, EMULATION]

# The read models each consumer alone writes: what a rebuild (operations/rebuild.py) empties and refills.
PROJECTION_TABLES: dict[str, tuple[str, ...]] = {
    REGISTRY.name: ("rp_units", "rp_unit_successors", "rp_crosswalk", "rp_households", "rp_household_years",
                    "rp_commune_year", "rp_reviews"),
    SUPPORT.name: ("rp_support_deliveries", "rp_support_totals", "rp_support_funding", "rp_support_quantities",
                   "rp_support_catalogue", "rp_fund_entries", "rp_sponsorships", "rp_support_activities"),
    EMULATION.name: ("rp_movements", "rp_documents", "rp_emulation_activities", "rp_targets", "rp_scores",
                     "rp_exemplars", "rp_awards", "rp_award_revocations"),
}
