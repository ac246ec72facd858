"""Time as Vietnam reads it: stored in UTC everywhere, shown and cut into days in Asia/Ho_Chi_Minh."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")  # UTC+7 all year: Vietnam keeps no daylight saving


def now() -> datetime:
    """The current instant, in UTC (what is stored)."""
    return datetime.now(UTC)


def today() -> date:
    """Today's date in Vietnam: a form dated today, a deadline, "this year"."""
    return datetime.now(VIETNAM).date()
