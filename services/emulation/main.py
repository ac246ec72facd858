"""The emulation service app: `uvicorn --factory services.emulation.main:create_app`."""

from __future__ import annotations

from fastapi import FastAPI

from services.emulation.catalogue.routes import router as catalogue_router
from services.emulation.consumers import CONSUMERS
from services.emulation.exemplars.routes import router as exemplars_router
from services.emulation.movements.routes import router as movements_router
from services.emulation.nominations.routes import router as nominations_router
from services.emulation.scoring.routes import router as scoring_router
from services.emulation.scoring.worker import rescorer
from services.emulation.settings import EmulationSettings
from services.emulation.targets.routes import router as targets_router
from shared.app import ServiceSpec, create_service_app


def create_app(settings: EmulationSettings | None = None) -> FastAPI:
    return create_service_app(ServiceSpec(
        name="emulation",
        settings=settings or EmulationSettings(),
        routers=[catalogue_router, movements_router, targets_router, nominations_router,
                 exemplars_router, scoring_router],
        consumers=CONSUMERS,
        workers=[rescorer],
        title="Chung Tay — emulation",
    ))

