"""The official poverty standards as versioned data (docs/domain.md "Poverty standards").

The review year picks the standard. Figures marked `to_verify` were reported but not confirmed
against the signed text: they live here, in one place, and an operator may replace the whole table
with a JSON file named by `REGISTRY_POVERTY_STANDARDS_FILE` (same shape as `STANDARDS_DATA`), read
once at start-up by classification/service.py. Nothing here reads the environment or a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

AREAS = ("rural", "urban")


@dataclass(frozen=True)
class Indicator:
    code: str       # canonical code used in the API, import files and events
    dimension: str  # health, education, housing, ...
    name: str       # English
    name_vi: str    # official Vietnamese wording (data)


@dataclass(frozen=True)
class AreaLines:
    """VND per person per month."""

    poverty_line: int
    near_poverty_line: int | None  # None: near-poor uses the poverty line (no separate line)
    middle_income_line: int | None  # None: the standard sets no middle-income line


@dataclass(frozen=True)
class Standard:
    code: str
    name: str
    legal_basis: str
    year_from: int
    year_to: int
    lines: dict[str, AreaLines]  # "rural" | "urban"
    deprivation_threshold: int
    # True (Decision 59/2015): income at or below the poverty line is poor whatever the deprivation.
    # False (Decree 07/2021 onwards): poor needs income at or below the line AND enough deprivation.
    income_alone_poor: bool
    indicators: tuple[Indicator, ...]
    to_verify: tuple[str, ...] = ()

    @property
    def indicator_codes(self) -> tuple[str, ...]:
        return tuple(i.code for i in self.indicators)

    def covers(self, year: int) -> bool:
        return self.year_from <= year <= self.year_to


def _ind(code: str, dimension: str, name: str, name_vi: str) -> dict[str, str]:
    return {"code": code, "dimension": dimension, "name": name, "name_vi": name_vi}


STANDARDS_DATA: list[dict[str, Any]] = [
    {
        "code": "decision-59-2015",
        "name": "Quyết định 59/2015/QĐ-TTg (2016–2020, applied through 2021)",
        "legal_basis": "Decision 59/2015/QĐ-TTg",
        "year_from": 2016, "year_to": 2021,
        "lines": {
            "rural": {"poverty_line": 700_000, "near_poverty_line": 1_000_000, "middle_income_line": 1_500_000},
            "urban": {"poverty_line": 900_000, "near_poverty_line": 1_300_000, "middle_income_line": 1_950_000},
        },
        "deprivation_threshold": 3,
        "income_alone_poor": True,
        "indicators": [
            _ind("health_access", "health", "Access to health services", "Tiếp cận các dịch vụ y tế"),
            _ind("health_insurance", "health", "Health insurance", "Bảo hiểm y tế"),
            _ind("adult_education", "education", "Adult education", "Trình độ giáo dục của người lớn"),
            _ind("school_attendance", "education", "Children's school attendance", "Tình trạng đi học của trẻ em"),
            _ind("housing_quality", "housing", "Housing quality", "Chất lượng nhà ở"),
            _ind("housing_area", "housing", "Housing area per person", "Diện tích nhà ở bình quân đầu người"),
            _ind("clean_water", "water_sanitation", "Water source", "Nguồn nước sinh hoạt"),
            _ind("latrine", "water_sanitation", "Hygienic latrine", "Hố xí/nhà tiêu hợp vệ sinh"),
            _ind("telecom", "information", "Telecommunication use", "Sử dụng dịch vụ viễn thông"),
            _ind("information_assets", "information", "Assets for information access",
                 "Tài sản phục vụ tiếp cận thông tin"),
        ],
        "to_verify": ["middle_income_line"],
    },
    {
        "code": "decree-07-2021",
        "name": "Nghị định 07/2021/NĐ-CP (2022–2026)",
        "legal_basis": "Decree 07/2021/NĐ-CP (kept in force through 2026 by Decree 351/2025/NĐ-CP)",
        "year_from": 2022, "year_to": 2026,
        "lines": {
            "rural": {"poverty_line": 1_500_000, "near_poverty_line": None, "middle_income_line": 2_250_000},
            "urban": {"poverty_line": 2_000_000, "near_poverty_line": None, "middle_income_line": 3_000_000},
        },
        "deprivation_threshold": 3,
        "income_alone_poor": False,
        "indicators": [
            _ind("employment", "employment", "Employment", "Việc làm"),
            _ind("dependants", "employment", "Dependants in the household", "Người phụ thuộc trong hộ gia đình"),
            _ind("nutrition", "health", "Nutrition", "Dinh dưỡng"),
            _ind("health_insurance", "health", "Health insurance", "Bảo hiểm y tế"),
            _ind("adult_education", "education", "Adult education", "Trình độ giáo dục của người lớn"),
            _ind("school_attendance", "education", "Children's school attendance", "Tình trạng đi học của trẻ em"),
            _ind("housing_quality", "housing", "Housing quality", "Chất lượng nhà ở"),
            _ind("housing_area", "housing", "Housing area per person", "Diện tích nhà ở bình quân đầu người"),
            _ind("domestic_water", "water_sanitation", "Domestic water", "Nguồn nước sinh hoạt"),
            _ind("latrine", "water_sanitation", "Hygienic latrine", "Nhà tiêu hợp vệ sinh"),
            _ind("telecom", "information", "Telecommunication use", "Sử dụng dịch vụ viễn thông"),
            _ind("information_access", "information", "Means of access to information",
                 "Phương tiện phục vụ tiếp cận thông tin"),
        ],
    },
    {
        "code": "decree-351-2025",
        "name": "Nghị định 351/2025/NĐ-CP (2027–2030)",
        "legal_basis": "Decree 351/2025/NĐ-CP",
        "year_from": 2027, "year_to": 2030,
        "lines": {
            "rural": {"poverty_line": 2_200_000, "near_poverty_line": None, "middle_income_line": None},
            "urban": {"poverty_line": 2_800_000, "near_poverty_line": None, "middle_income_line": None},
        },
        "deprivation_threshold": 3,
        "income_alone_poor": False,
        "indicators": [
            _ind("employment", "employment", "Employment", "Việc làm"),
            _ind("dependants", "employment", "Dependants in the household", "Người phụ thuộc trong hộ gia đình"),
            _ind("health_insurance", "health", "Health insurance", "Bảo hiểm y tế"),
            _ind("nutrition", "health", "Nutrition", "Dinh dưỡng"),
            _ind("adult_education", "education", "Adult education", "Trình độ giáo dục của người lớn"),
            _ind("school_attendance", "education", "Children's school attendance", "Tình trạng đi học của trẻ em"),
            _ind("housing_area", "housing", "Housing area per person", "Diện tích nhà ở bình quân đầu người"),
            _ind("housing_quality", "housing", "Housing quality", "Chất lượng nhà ở"),
            _ind("telecom", "information", "Telecommunication and digital use",
                 "Sử dụng dịch vụ viễn thông, dịch vụ số"),
            _ind("domestic_water", "water_sanitation", "Domestic water", "Nguồn nước sinh hoạt"),
            _ind("latrine", "water_sanitation", "Hygienic toilet", "Nhà tiêu hợp vệ sinh"),
            _ind("waste", "water_sanitation", "Waste collection and treatment", "Thu gom, xử lý rác thải"),
        ],
        "to_verify": ["indicators", "middle_income_line"],
    },
]


def parse_standards(data: list[dict[str, Any]]) -> tuple[Standard, ...]:
    """Validates the table: known areas, positive ordered lines, unique codes, no overlapping years."""
    standards = []
    for raw in data:
        lines = {area: AreaLines(**raw["lines"][area]) for area in AREAS}
        for area, al in lines.items():
            ordered = [x for x in (al.poverty_line, al.near_poverty_line, al.middle_income_line) if x is not None]
            if ordered != sorted(ordered) or ordered[0] <= 0:
                raise ValueError(f"{raw['code']}: {area} lines must be positive and increasing")
        indicators = tuple(Indicator(**i) for i in raw["indicators"])
        if len({i.code for i in indicators}) != len(indicators):
            raise ValueError(f"{raw['code']}: duplicate indicator codes")
        standards.append(Standard(
            code=raw["code"], name=raw["name"], legal_basis=raw["legal_basis"],
            year_from=int(raw["year_from"]), year_to=int(raw["year_to"]), lines=lines,
            deprivation_threshold=int(raw["deprivation_threshold"]),
            income_alone_poor=bool(raw["income_alone_poor"]), indicators=indicators,
            to_verify=tuple(raw.get("to_verify", ())),
        ))
    standards.sort(key=lambda s: s.year_from)
    for before, after in zip(standards, standards[1:], strict=False):
        if after.year_from <= before.year_to:
            raise ValueError(f"{before.code} and {after.code} overlap")
    return tuple(standards)
