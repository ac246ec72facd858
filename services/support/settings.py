"""Settings of the support service: every variable starts with SUPPORT_ (e.g. SUPPORT_DATABASE_URL)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class SupportSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SUPPORT_", extra="ignore")

    service_name: str = "support"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/chungtay_support"
    # Every request is a few short statements: the ping's three round trips per checkout (BEGIN, ping,
    # ROLLBACK) were a third of a fund spend's and half of the lightest read's. After a database
    # restart a request may meet a stale pool connection and fail once (as in the registry).
    db_pool_pre_ping: bool = False
