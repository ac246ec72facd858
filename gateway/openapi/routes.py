"""`/openapi.json` and `/docs`: one document for the whole platform, and Swagger UI over it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse

from gateway.dependencies import DocumentsDep
from gateway.openapi.rules import document_own

router = APIRouter()


@router.get("/openapi.json", include_in_schema=False)
async def openapi(request: Request, documents: DocumentsDep) -> JSONResponse:
    app = request.app
    own = document_own(get_openapi(title=app.title, version=app.version, description=app.description,
                                   routes=app.routes))
    return JSONResponse(await documents.document(own))


@router.get("/docs", include_in_schema=False)
async def docs() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title="Chung Tay API",
                               swagger_ui_parameters={"persistAuthorization": True})
