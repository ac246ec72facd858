"""Settings of the registry service: every variable starts with REGISTRY_ (e.g. REGISTRY_DATABASE_URL)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_", extra="ignore")

    service_name: str = "registry"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/chungtay_registry"
    # GET /registry/households/{id} has a latency target: the ping's three round trips per request
    # cost more than the read itself. After a database restart one request per stale pool fails.
    db_pool_pre_ping: bool = False
    # Personal data (citizen IDs): 32-byte keys in base64. `make run` generates them into .data/keys.
    personal_data_key: str = ""
    personal_data_hash_key: str = ""
    # A JSON file replacing the built-in poverty standards (classification/standards.py STANDARDS_DATA's
    # shape); read once at start-up. Empty: the built-in table.
    poverty_standards_file: str = ""
