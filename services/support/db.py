"""The support service's declarative base: every support table hangs off this metadata."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase

# Codes compared byte for byte (catalogue codes, unit paths): collation "C".
CODE = String(60, collation="C")


class Base(DeclarativeBase):
    pass
