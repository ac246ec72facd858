"""The poverty read model: each household's registration, its assessment per review year, and the
commune counters those rows add up to (one wide row per commune and year, columns in counters.py).

Written only by the set-based statements of `projection.py`; rows that belong to a unit are `Scoped`,
so an ORM query on them is scope-filtered like everywhere else.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, SmallInteger, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.reporting.db import PATH, Base
from services.reporting.poverty.counters import COLUMNS as COUNTER_COLUMNS
from shared.db import Scoped


class Household(Scoped, Base):
    """The household's current registration: where it lives, whether it was removed."""

    __tablename__ = "rp_households"

    household_id: Mapped[str] = mapped_column(Text, primary_key=True)
    household_code: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(16))
    members: Mapped[int] = mapped_column()
    removed: Mapped[bool] = mapped_column(Boolean)
    removed_version: Mapped[int | None] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(BigInteger)


class HouseholdYear(Scoped, Base):
    """One household's assessment in one review year: the latest version seen."""

    __tablename__ = "rp_household_years"

    household_id: Mapped[str] = mapped_column(Text, primary_key=True)
    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    transition: Mapped[str] = mapped_column(String(24))  # "" when the event carried none
    members: Mapped[int] = mapped_column()
    ethnic_minority: Mapped[bool] = mapped_column(Boolean)
    policy_family: Mapped[bool] = mapped_column(Boolean)
    social_protection: Mapped[bool] = mapped_column(Boolean)
    urban: Mapped[bool | None] = mapped_column(Boolean)
    removed: Mapped[bool] = mapped_column(Boolean)
    version: Mapped[int] = mapped_column(BigInteger)


# Counters per (commune, year): one wide row, columns named in counters.py. Read and
# written only by set-based SQL, so it is described as a table rather than a mapped class.
commune_year = Table(
    "rp_commune_year", Base.metadata,
    Column("unit_path", PATH, primary_key=True),
    Column("year", SmallInteger, primary_key=True),
    *(Column(name, BigInteger, nullable=False, server_default="0") for name in COUNTER_COLUMNS),
)


