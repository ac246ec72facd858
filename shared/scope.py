"""Unit paths and scopes.

A unit path starts with its hierarchy: `v2008.24.213.07207` (before the July 2025 reform:
province.district.commune) or `v2025.24.07210` (after it: province.commune). A principal may touch a
row only when the row's path equals one of its scope paths or lies below it.
"""

from __future__ import annotations

from collections.abc import Iterable

HIERARCHY_BEFORE_REFORM = "v2008"
HIERARCHY_AFTER_REFORM = "v2025"
HIERARCHIES = (HIERARCHY_BEFORE_REFORM, HIERARCHY_AFTER_REFORM)


def make_path(hierarchy: str, *codes: str) -> str:
    if hierarchy not in HIERARCHIES:
        raise ValueError(f"unknown hierarchy {hierarchy!r}")
    return ".".join((hierarchy, *codes))


def split_path(path: str) -> tuple[str, list[str]]:
    hierarchy, *codes = path.split(".")
    return hierarchy, codes


def unit_code_of(path: str) -> str:
    return path.rsplit(".", 1)[-1]


def path_within(path: str, scope_path: str) -> bool:
    """True when `path` is `scope_path` itself or a unit below it."""
    return path == scope_path or path.startswith(scope_path + ".")


def path_in_any(path: str, scope_paths: Iterable[str]) -> bool:
    return any(path_within(path, s) for s in scope_paths)


def level_of(path: str) -> str:
    """`national`, `province`, `district` (before the reform only) or `commune`, read off the path."""
    hierarchy, codes = split_path(path)
    if not codes:
        return "national"
    if len(codes) == 1:
        return "province"
    if hierarchy == HIERARCHY_BEFORE_REFORM and len(codes) == 2:
        return "district"
    return "commune"


def ancestors(path: str) -> list[str]:
    """`v2008.24.213.07207` → [`v2008.24`, `v2008.24.213`, `v2008.24.213.07207`]."""
    hierarchy, codes = split_path(path)
    return [".".join([hierarchy, *codes[: i + 1]]) for i in range(len(codes))]
