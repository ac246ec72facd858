"""Settings on pydantic-settings. Each service reads its own prefix (REGISTRY_, SUPPORT_, ...)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Settings every service has; a service subclasses it and sets its env prefix."""

    model_config = SettingsConfigDict(env_prefix="SERVICE_", extra="ignore")

    service_name: str = "service"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/chungtay"
    nats_url: str = "nats://127.0.0.1:4222"
    # PEM of the gateway's Ed25519 public key: services accept only principals it signed.
    principal_public_key: str = ""
    log_level: str = "INFO"
    db_pool_size: int = 20
    db_pool_pre_ping: bool = True  # see shared.db.Database
    # Outbox relay
    relay_batch_size: int = 1000
    relay_idle_seconds: float = 1.0
    outbox_retention_hours: int = 72
    # Consumers
    consumer_batch_size: int = 500
    consumer_ack_wait_seconds: float = 30.0
    consumer_max_attempts: int = 5
    consumer_backoff_seconds: float = 1.0
    run_background_workers: bool = True

