"""The reporting service app: `uvicorn --factory services.reporting.main:create_app`."""

from __future__ import annotations

from fastapi import FastAPI

from services.reporting.completeness import routes as completeness
from services.reporting.consumers import CONSUMERS
from services.reporting.dashboard import routes as dashboard
from services.reporting.dashboard.service import DashboardCache
from services.reporting.indicators import routes as indicators
from services.reporting.operations import routes as operations
from services.reporting.reports import routes as reports
from services.reporting.settings import ReportingSettings
from services.reporting.support import routes as support
from shared.app import ServiceSpec, create_service_app


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    settings = settings or ReportingSettings()
    return create_service_app(ServiceSpec(
        name="reporting",
        settings=settings,
        routers=[indicators.router, support.router, reports.router, completeness.router, dashboard.router,
                 operations.router],
        consumers=CONSUMERS,
        title="Chung Tay — reporting",
        description="Poverty indicators, support totals and periodic reports, projected from every service's events.",
        extra_state={"dashboard_cache": DashboardCache(settings.dashboard_cache_entries)},
    ))
