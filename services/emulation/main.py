"""The emulation service app: `uvicorn --factory services.emulation.main:create_app`."""

from __future__ import annotations

from fastapi import FastAPI

from services.emulation.consumers import CONSUMERS
from services.emulation.settings import EmulationSettings
from shared.app import ServiceSpec, create_service_app


def create_app(settings: EmulationSettings | None = None) -> FastAPI:
    return create_service_app(ServiceSpec(
        name="emulation",
        settings=settings or EmulationSettings(),
        routers=[],
        consumers=CONSUMERS,
        title="Chung Tay — emulation",
    ))

