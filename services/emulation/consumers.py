"""Events the emulation service consumes from other services (never calling them): units and
households from the registry; the facts automatic criteria are scored from arrive in
services/emulation/scoring.

Households have their own durable consumer: a durable consumer keeps the subjects it was created
with (adding subjects to `emulation-registry` would not reach one that already exists), and a new
one starts at the beginning of the REGISTRY stream, so every household already registered arrives. For
that reason its name changed when `registry.household.restated` joined its subjects
(`emulation-households` → `emulation-households-2`; the old durable, if any, is left unused). Support's
events likewise: `support.fund.reversed` joined them (a reversed donation stops counting), so
`emulation-support` became `emulation-support-2`, which reads the SUPPORT stream from its beginning
(every handler keeps the latest state: what was applied already changes nothing); the old durable,
if any, is left unused."""

from __future__ import annotations

from services.emulation.households import projection as households
from services.emulation.scoring import projection as scoring
from services.emulation.units.projection import on_unit_changed
from shared.consumer import Consumer, Handler

REGISTRY_CONSUMER = "emulation-registry"

REGISTRY = Consumer(name=REGISTRY_CONSUMER, producer="registry", handlers={
    "registry.unit.changed": on_unit_changed,
    "registry.review.approved": scoring.on_review_approved,
}, filter_subjects=["registry.unit.changed", "registry.review.approved"])

HOUSEHOLDS = Consumer(name="emulation-households-2", producer="registry", handlers=dict(households.HANDLERS),
                      filter_subjects=list(households.HANDLERS))

SUPPORT_EVENTS: dict[str, Handler] = {
    "support.delivery.recorded": scoring.on_delivery,
    "support.delivery.corrected": scoring.on_delivery,
    "support.delivery.voided": scoring.on_delivery,
    "support.delivery.recorded_batch": scoring.on_delivery_batch,
    "support.fund.donation_received": scoring.on_donation,
    "support.fund.reversed": scoring.on_fund_reversed,
}
SUPPORT = Consumer(name="emulation-support-2", producer="support", handlers=SUPPORT_EVENTS,
                   filter_subjects=list(SUPPORT_EVENTS))

CONSUMERS: list[Consumer] = [REGISTRY, HOUSEHOLDS, SUPPORT]
