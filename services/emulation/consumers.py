"""Events the emulation service consumes from other services (never calling them): units from the
registry; the facts automatic criteria are scored from arrive in services/emulation/scoring."""

from __future__ import annotations

from services.emulation.units.projection import on_unit_changed
from shared.consumer import Consumer

REGISTRY_CONSUMER = "emulation-registry"

REGISTRY = Consumer(name=REGISTRY_CONSUMER, producer="registry", handlers={
    "registry.unit.changed": on_unit_changed,
}, filter_subjects=["registry.unit.changed", "registry.review.approved"])

CONSUMERS: list[Consumer] = [REGISTRY]
