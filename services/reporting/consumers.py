"""Events the reporting service consumes from other services, and the projection handling each type.

One durable consumer per producing stream; each feeds the projections of its domain folders
(`<domain>/projection.py`), and every handler also records how far its stream is applied
(`rp_progress`), in the same transaction.
"""

from __future__ import annotations

from services.reporting.poverty import projection as poverty
from services.reporting.progress.projection import REGISTRY_CONSUMER, tracked
from services.reporting.reviews import projection as reviews
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

CONSUMERS: list[Consumer] = [REGISTRY]
