"""Households for imports in tests and benches: an import file (the registry's CSV template) of `count`
households of one ward of Bắc Giang city, numbered from `start` (codes HH-<commune>-<n>, citizen IDs
0240<n>), with a fixed mix of poor, near-poor and other households."""

from __future__ import annotations

import csv
import io

from services.registry.imports.columns import COLUMN_NAMES

NAMES = ["An", "Bình", "Cường", "Dũng", "Hà", "Lan", "Minh", "Nga", "Phúc", "Quang", "Sơn", "Thảo", "Vân"]
# Decree 07/2021, urban wards: income line 2,000,000; poor needs >= 3 deprivations.
PROFILES = [("1200000", "health_insurance;housing_quality;latrine"), ("1800000", "telecom"),
            ("2500000", ""), ("9000000", ""), ("1500000", "employment;nutrition;latrine;telecom")]


def import_file(commune_code: str, count: int, start: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMN_NAMES)
    for n in range(start, start + count):
        income, deprived = PROFILES[n % len(PROFILES) if n % 7 else 3]
        row = {"household_code": f"HH-{commune_code}-{n:05d}", "commune_code": commune_code, "village": "Tổ 1",
               "head_name": f"Nguyễn Văn {NAMES[n % len(NAMES)]}", "head_citizen_id": f"0240{n:08d}",
               "head_birth_date": "1970-01-01",
               "member_count": str(1 + n % 6), "ethnic_minority": "true" if n % 9 == 0 else "false",
               "policy_family": "false", "income_per_capita": income, "deprived_indicators": deprived,
               "review_year": "2024"}
        writer.writerow([row[c] for c in COLUMN_NAMES])
    return out.getvalue().encode()
