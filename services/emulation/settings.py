"""Settings of the emulation service: every variable starts with EMULATION_ (e.g. EMULATION_DATABASE_URL)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class EmulationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="EMULATION_", extra="ignore")

    service_name: str = "emulation"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/chungtay_emulation"
    # No pool pre-ping (three round trips per checkout: each consumer batch and re-score tick paid them);
    # a connection broken by a database restart fails one unit of work, and the pool is then renewed.
    db_pool_pre_ping: bool = False
    # How often the re-scorer scores the units whose facts the consumers changed (scoring/worker.py).
    rescore_interval_seconds: float = 0.2
