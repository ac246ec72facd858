"""The registry's OpenAPI document states the rules its units, classification and import routes
enforce (issue 16 item 11), so a client — or a fuzzer — learns them from the document."""

from __future__ import annotations

from typing import Any

from services.registry.main import create_app
from services.registry.settings import RegistrySettings
from shared.crypto import generate_key
from tests.kit import service_env


def _document() -> dict[str, Any]:
    url = "postgresql://unused@127.0.0.1:1/unused"  # the document is built without a database
    settings = RegistrySettings(**service_env("registry", url, "nats://127.0.0.1:1",
                                              personal_data_key=generate_key(), personal_data_hash_key=generate_key()))
    return create_app(settings).openapi()


def _body_schema(document: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    ref = document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema: dict[str, Any] = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return schema


def test_the_rules_of_units_classification_and_imports_are_in_the_document() -> None:
    document = _document()
    flags = _body_schema(document, "/registry/units/{code}/flags", "patch")
    assert flags["minProperties"] == 1 and flags["additionalProperties"] is False
    assert {p["type"] for p in flags["properties"].values()} == {"boolean"}  # never null
    patch = document["paths"]["/registry/units/{code}/flags"]["patch"]["responses"]
    assert {"404", "412", "428"} <= set(patch)
    classify = _body_schema(document, "/registry/classify", "post")
    assert [o["required"] for o in classify["oneOf"]] == [["area"], ["commune_code"]]
    statuses = next(p for p in document["paths"]["/registry/imports"]["get"]["parameters"] if p["name"] == "status")
    assert statuses["schema"]["anyOf"][0]["enum"] == ["pending", "running", "completed", "rejected", "failed"]
    template = document["paths"]["/registry/imports/template"]["get"]["responses"]["200"]["content"]
    assert set(template) == {"text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    upload = document["paths"]["/registry/imports"]["post"]["responses"]
    assert {"400", "413", "415"} <= set(upload)
