"""The reporting service's declarative base: every reporting table hangs off this metadata.

Paths are `COLLATE "C"` strings, so a subtree is a plain btree range (`path > 'p.' AND path < 'p/'`).
"""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase

PATH = String(160, collation="C")


class Base(DeclarativeBase):
    pass
