"""Events the reporting service consumes from other services.

One durable consumer on the REGISTRY stream feeds every registry projection; each handler also
records how far the stream is applied (`rp_progress`), in the same transaction.
"""

from __future__ import annotations

from services.reporting.projections import assessments, households, reviews, units
from services.reporting.projections.progress import REGISTRY_CONSUMER, tracked
from shared.consumer import Consumer, Handler

REGISTRY_HANDLERS: dict[str, Handler] = {
    event_type: tracked(REGISTRY_CONSUMER, apply)
    for event_type, apply in {
        "registry.unit.changed": units.on_unit_changed,
        "registry.household.registered": households.on_registered,
        "registry.household.updated": households.on_registered,
        "registry.household.removed": households.on_removed,
        "registry.household.assessed": assessments.on_assessed,
        "registry.household.assessed_batch": assessments.on_assessed_batch,
        "registry.review.approved": reviews.on_review_approved,
    }.items()
}

REGISTRY = Consumer(name=REGISTRY_CONSUMER, producer="registry", handlers=REGISTRY_HANDLERS)

CONSUMERS: list[Consumer] = [REGISTRY]
