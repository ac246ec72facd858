"""Pure rules of the coverage gaps: who each gap is about (issue 11, item 8), and how much of a list an
XLSX sheet can hold. No database, no clock."""

from __future__ import annotations

# Poor and near-poor households without a health-insurance card delivery this year.
HEALTH_INSURANCE_STATUSES = ("poor", "near_poor")
# Poor households with a temporary or damaged house and no housing support: the registry's
# `housing_quality` indicator ("Chất lượng nhà ở"), the same code in every standard it classifies by
# (Decision 59/2015, Decree 07/2021, Decree 351/2025: ../shared/DOMAIN.md, the registry's
# classification/standards.py). Too little floor space (`housing_area`) is not this gap, nor are
# near-poor households.
HOUSING_STATUSES = ("poor",)
HOUSING_INDICATORS = ("housing_quality",)
# Households that escaped poverty (or near-poverty) at a review and still get poor-only support.
ESCAPES = ("escaped_poverty", "escaped_near_poverty")
REVIEW_LAST_DAY = (12, 14)  # the periodic review runs 1 September – 14 December (docs/support.md)

XLSX_MAX_ROWS = 1_048_576 - 1  # a sheet's rows, less the header line


def xlsx_too_many(count: int) -> str | None:
    """Why a list of `count` rows cannot be one XLSX sheet (None: it can)."""
    if count <= XLSX_MAX_ROWS:
        return None
    return (f"The list holds {count:,} rows; an XLSX sheet holds at most {XLSX_MAX_ROWS:,}. "
            "Ask for format=csv (the whole list) or a smaller unit.")
