"""The poverty standards of this process: loaded once at start-up, then handed to whoever classifies.

`load_standards` reads the operator's file (REGISTRY_POVERTY_STANDARDS_FILE) or takes the built-in
table; the app keeps the result in `app.state.standards`, routes receive it through the
`CurrentStandards` dependency and pass it on (households, reviews, the import's worker process)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from services.registry.classification.classifier import NoStandardForYear, Standards
from services.registry.classification.standards import STANDARDS_DATA, parse_standards
from services.registry.settings import RegistrySettings


def load_standards(settings: RegistrySettings) -> Standards:
    """The built-in table, or the operator's JSON file when `poverty_standards_file` is set."""
    if settings.poverty_standards_file:
        data = json.loads(Path(settings.poverty_standards_file).read_text(encoding="utf-8"))
        return Standards(parse_standards(data))
    return Standards(parse_standards(STANDARDS_DATA))


def current_standards(request: Request) -> Standards:
    standards: Standards = request.app.state.standards
    return standards


CurrentStandards = Annotated[Standards, Depends(current_standards)]


def years_covered(standards: Standards) -> list[dict[str, object]]:
    """What a `no_standard_for_year` problem lists: each standard's code and years."""
    return [{"standard": s.code, "from": s.year_from, "to": s.year_to} for s in standards.all]


__all__ = ["CurrentStandards", "NoStandardForYear", "Standards", "load_standards", "years_covered"]
