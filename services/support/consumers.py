"""Events the support service consumes from other services: the registry's units and households,
for the eligibility read model (households/projection.py)."""

from __future__ import annotations

from services.support.households import projection
from shared.consumer import Consumer

REGISTRY = Consumer(name="support-registry", producer="registry", handlers=dict(projection.HANDLERS))

CONSUMERS: list[Consumer] = [REGISTRY]
# The read models the registry consumer alone writes (a rebuild empties them and replays the stream).
PROJECTION_TABLES = ("sp_units", "sp_households", "sp_household_transitions")
