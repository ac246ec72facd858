"""Import settings: environment variables REGISTRY_IMPORT_* (e.g. REGISTRY_IMPORT_MAX_BYTES)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class ImportSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_IMPORT_", extra="ignore")

    max_bytes: int = 256 * 1024 * 1024  # a 1,000,000-household CSV is about 130 MB
    max_rows: int = 2_000_000
    batch_rows: int = 2_500  # rows per COPY batch (memory stays a few batches whatever the file size)
    event_items: int = 1_000  # households per registry.household.assessed_batch event
    concurrent_jobs: int = 2  # per service process; more wait as `pending`
    spool_dir: str | None = None  # temporary files (default: the system's temp folder)
    # A running job refreshes its heartbeat every batch; one silent this long died with its process.
    stale_after_seconds: float = 300.0
    max_errors_listed: int = 1_000  # per GET page; every error stays readable with errors_offset
