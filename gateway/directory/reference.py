"""Unit paths from the reference data the registry itself loads (`vietnamadminunits`).

The gateway's hot path uses the unit directory built from registry events; this module serves the
moments before that directory exists: seeding demo accounts at set-up, and resolving an account's
scope unit when the registry has not published its units yet.
"""

from __future__ import annotations

from functools import lru_cache

from gateway.directory.service import DirUnit, UnitDirectory


@lru_cache(maxsize=1)
def reference_directory() -> UnitDirectory:
    from vietnamadminunits.database import query

    units: dict[str, DirUnit] = {}
    legacy = query("SELECT DISTINCT province, provinceCode, district, districtCode, ward, wardCode "
                   "FROM admin_units_legacy")
    for r in legacy:
        province = f"v2008.{r['provinceCode']}"
        district = f"{province}.{r['districtCode']}"
        units.setdefault(province, DirUnit(province, "v2008", r["provinceCode"], "province", r["province"]))
        units.setdefault(district, DirUnit(district, "v2008", r["districtCode"], "district", r["district"], province))
        if r["wardCode"]:
            commune = f"{district}.{r['wardCode']}"
            units.setdefault(commune, DirUnit(commune, "v2008", r["wardCode"], "commune", r["ward"], district))
    for r in query("SELECT DISTINCT province, provinceCode, ward, wardCode FROM admin_units"):
        province = f"v2025.{r['provinceCode']}"
        commune = f"{province}.{r['wardCode']}"
        units.setdefault(province, DirUnit(province, "v2025", r["provinceCode"], "province", r["province"]))
        units.setdefault(commune, DirUnit(commune, "v2025", r["wardCode"], "commune", r["ward"], province))
    directory = UnitDirectory()
    directory.put(list(units.values()))
    return directory


def reference_unit(hierarchy: str, code: str) -> DirUnit:
    """The one unit of `hierarchy` with `code`; raises LookupError if there is none."""
    found = reference_directory().resolve(code, hierarchy)
    if len(found) != 1:
        raise LookupError(f"no unit {code} in hierarchy {hierarchy} of the reference data")
    return found[0]
