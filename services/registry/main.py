"""The registry service app: `uvicorn --factory services.registry.main:create_app`."""

from __future__ import annotations

from fastapi import FastAPI

from services.registry.classification.routes import router as classification_router
from services.registry.classification.service import load_standards
from services.registry.consumers import CONSUMERS
from services.registry.dci.routes import router as dci_router
from services.registry.dci.settings import DciSettings
from services.registry.dci.worker import DciRuntime
from services.registry.households import partitions
from services.registry.households.routes import router as households_router
from services.registry.imports.routes import router as imports_router
from services.registry.personal_data import PersonalDataCipher, PersonalDataKeysMissing, cipher_from_settings
from services.registry.reviews.routes import router as reviews_router
from services.registry.settings import RegistrySettings
from services.registry.units.routes import router as units_router
from shared.app import ServiceSpec, create_service_app


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    settings = settings or RegistrySettings()
    cipher = _sealer(settings)
    dci = DciRuntime(cipher, DciSettings())
    return create_service_app(ServiceSpec(
        name="registry",
        settings=settings,
        routers=[
            units_router,
            classification_router,
            households_router,
            reviews_router,
            imports_router,
            dci_router,
        ],
        consumers=[*CONSUMERS, dci.consumer()],
        workers=[dci.worker, lambda app: partitions.worker(app, dci.housekeeping)],
        title="Chung Tay — registry",
        # Answers replayed for an Idempotency-Key hold citizen IDs: stored encrypted like them.
        extra_state={"idempotency_sealer": cipher, "standards": load_standards(settings)},
    ))


def _sealer(settings: RegistrySettings) -> PersonalDataCipher | None:
    try:
        return cipher_from_settings(settings)
    except (PersonalDataKeysMissing, ValueError):
        return None  # without (valid) keys no personal data can be written, nor any answer holding it

