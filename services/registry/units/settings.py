"""Settings of the unit loader (prefix REGISTRY_, like the rest of the registry)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class UnitSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_", extra="ignore")

    # Đặc khu (special zones, islands after the 2025 reform): the law names phường urban and xã rural
    # but says nothing of đặc khu, so whether their households face the urban income line is a choice.
    special_zone_urban: bool = False
