"""DCI settings: environment variables REGISTRY_DCI_* (e.g. REGISTRY_DCI_RETRY_CAP_SECONDS)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class DciSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_DCI_", extra="ignore")

    # How often the worker looks for due work without being woken (requests and the consumer wake it;
    # the poll serves retries and other processes' work).
    poll_seconds: float = 1.0
    callback_timeout_seconds: float = 5.0
    retry_base_seconds: float = 2.0  # the first retry of a failed callback; doubling after each failure
    retry_cap_seconds: float = 300.0  # never longer than this between tries: a subscriber back up is served soon
    max_age_seconds: float = 7 * 24 * 3600.0  # a callback undelivered this long is given up (expired_at)
    deliveries_per_round: int = 50  # callbacks in flight at once per process
    # Delivered or given-up callbacks are deleted this long after (the registry's housekeeping, every 6 h);
    # callbacks still waiting are kept whatever their age.
    delivery_retention_days: float = 30.0
    # A private JWK (with its kid) the registry signs its answers and callbacks with; empty: unsigned.
    signing_key: str = ""
    # A private JWK (with its kid; RSA >= 2048 bits or EC P-256) clients encrypt their messages to
    # (header.is_msg_encrypted); empty: encrypted messages are refused. See encryption.py.
    encryption_key: str = ""
