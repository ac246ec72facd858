"""Reads both hierarchies and the 2025 crosswalk from the `vietnamadminunits` package data.

- `data/dataset.db` (SQLite): table `admin_units_legacy` (63 provinces, districts, communes before
  1 July 2025, one row per commune) and `admin_units` (34 provinces, 3,321 communes after it).
- `data/converter_2025.json`: for each new province, which old province_district_ward keys went
  into each new commune (whole), and which old communes were divided between several new ones.

The package is located without importing it (its import pulls geocoding libraries we do not need).
"""

from __future__ import annotations

import importlib.util
import json
import sqlite3
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from services.registry.units.names import search_key
from shared.scope import HIERARCHY_AFTER_REFORM as V2025
from shared.scope import HIERARCHY_BEFORE_REFORM as V2008
from shared.scope import make_path

REFORM_DATE = date(2025, 7, 1)
LAST_DAY_BEFORE_REFORM = date(2025, 6, 30)
URBAN_COMMUNE_TYPES = {"phường": True, "thị trấn": True, "xã": False}
SPECIAL_ZONE = "đặc khu"


@dataclass(frozen=True)
class UnitRecord:
    """The reference fields of a unit (the loader owns them; flags belong to officers)."""

    path: str
    hierarchy: str
    code: str
    name: str
    name_search: str
    type: str
    level: str
    parent_path: str | None
    urban: bool | None
    valid_from: date | None
    valid_to: date | None


@dataclass(frozen=True)
class Succession:
    old_path: str  # a v2008 commune (or an island district that had no communes)
    new_path: str  # a v2025 commune
    partial: bool  # only part of the old unit went into the new one


@dataclass(frozen=True)
class Source:
    units: list[UnitRecord]
    successions: list[Succession]


def package_data_dir() -> Path:
    spec = importlib.util.find_spec("vietnamadminunits")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the vietnamadminunits package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _province_type(name: str) -> str:
    return "thành phố trực thuộc trung ương" if name.startswith("Thành phố") else "tỉnh"


def _commune_urban(commune_type: str, special_zone_urban: bool) -> bool:
    if commune_type == SPECIAL_ZONE:
        return special_zone_urban
    return URBAN_COMMUNE_TYPES[commune_type]


def _unit(hierarchy: str, codes: tuple[str, ...], name: str, type_: str, level: str,
          urban: bool | None) -> UnitRecord:
    path = make_path(hierarchy, *codes)
    parent = make_path(hierarchy, *codes[:-1]) if len(codes) > 1 else None
    before = hierarchy == V2008
    return UnitRecord(path=path, hierarchy=hierarchy, code=codes[-1], name=name, name_search=search_key(name),
                      type=type_, level=level, parent_path=parent, urban=urban,
                      valid_from=None if before else REFORM_DATE,
                      valid_to=LAST_DAY_BEFORE_REFORM if before else None)


def read_source(special_zone_urban: bool = False, data_dir: Path | None = None) -> Source:
    data_dir = data_dir or package_data_dir()
    units: dict[str, UnitRecord] = {}
    old_by_key: dict[str, str] = {}  # converter key "province_district_ward" → v2008 path
    new_by_key: dict[tuple[str, str], str] = {}  # (new province key, ward key) → v2025 path
    with sqlite3.connect(f"file:{data_dir / 'dataset.db'}?mode=ro", uri=True) as db:
        legacy = db.execute(
            "SELECT provinceCode, province, districtCode, district, districtType, wardCode, ward, wardType,"
            " provinceKey, districtKey, wardKey FROM admin_units_legacy ORDER BY provinceCode, districtCode, wardCode")
        for pc, pname, dc, dname, dtype, wc, wname, wtype, pkey, dkey, wkey in legacy:
            units.setdefault(make_path(V2008, pc), _unit(V2008, (pc,), pname, _province_type(pname), "province", None))
            district = _unit(V2008, (pc, dc), dname, dtype.lower(), "district", None)
            units.setdefault(district.path, district)
            if wc is None:  # island districts without communes (Bạch Long Vĩ, Cồn Cỏ, Hoàng Sa, Côn Đảo, ...)
                old_by_key[f"{pkey}_{dkey}_"] = district.path
                continue
            commune = _unit(V2008, (pc, dc, wc), wname, wtype.lower(), "commune",
                            _commune_urban(wtype.lower(), special_zone_urban))
            units[commune.path] = commune
            old_by_key[f"{pkey}_{dkey}_{wkey}"] = commune.path
        current = db.execute(
            "SELECT provinceCode, province, wardCode, ward, wardType, provinceKey, wardKey"
            " FROM admin_units ORDER BY provinceCode, wardCode")
        for pc, pname, wc, wname, wtype, pkey, wkey in current:
            units.setdefault(make_path(V2025, pc), _unit(V2025, (pc,), pname, _province_type(pname), "province", None))
            commune = _unit(V2025, (pc, wc), wname, wtype.lower(), "commune",
                            _commune_urban(wtype.lower(), special_zone_urban))
            units[commune.path] = commune
            new_by_key[(pkey, wkey)] = commune.path
    successions = _crosswalk(data_dir / "converter_2025.json", old_by_key, new_by_key)
    return Source(units=list(units.values()), successions=successions)


def _crosswalk(path: Path, old_by_key: dict[str, str], new_by_key: dict[tuple[str, str], str]) -> list[Succession]:
    data = json.loads(path.read_text(encoding="utf-8"))
    targets: dict[str, set[str]] = defaultdict(set)
    for new_province, wards in data["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for new_ward, old_keys in wards.items():
            for old_key in old_keys:
                targets[old_by_key[old_key]].add(new_by_key[(new_province, new_ward)])
    for new_province, divided in data["DICT_PROVINCE_WARD_DIVIDED"].items():
        for old_key, new_wards in divided.items():
            for ward in new_wards:
                targets[old_by_key[old_key]].add(new_by_key[(new_province, ward["newWardKey"])])
    # An old unit split between several new communes went only partly into each of them.
    return [Succession(old, new, len(news) > 1) for old, news in sorted(targets.items()) for new in sorted(news)]
