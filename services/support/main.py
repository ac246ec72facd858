"""The support service app: `uvicorn --factory services.support.main:create_app`."""

from __future__ import annotations

from fastapi import FastAPI

from services.support.activities.routes import router as activities_router
from services.support.catalogue.routes import router as catalogue_router
from services.support.consumers import CONSUMERS
from services.support.deliveries.routes import router as deliveries_router
from services.support.funds.routes import router as funds_router
from services.support.gaps.routes import router as gaps_router
from services.support.imports.routes import router as imports_router
from services.support.settings import SupportSettings
from services.support.sponsorships.routes import router as sponsorships_router
from shared.app import ServiceSpec, create_service_app
from shared.workers import ForkserverWarmer


def create_app(settings: SupportSettings | None = None) -> FastAPI:
    return create_service_app(ServiceSpec(
        name="support",
        settings=settings or SupportSettings(),
        routers=[catalogue_router, deliveries_router, funds_router, sponsorships_router, activities_router,
                 gaps_router, imports_router],
        consumers=CONSUMERS,
        workers=[lambda app: ForkserverWarmer()],  # the import's worker processes are forked from it
        title="Chung Tay — support",
    ))
