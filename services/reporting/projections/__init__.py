"""Projections: read models fed by the registry's events, applied in batches, idempotent and version-aware."""
