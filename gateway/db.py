"""The gateway's SQLAlchemy base: every table of the gateway's database derives from it."""

from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

C = "C"  # byte-order collation: path prefix ranges use plain btree indexes


class Base(DeclarativeBase):
    pass
