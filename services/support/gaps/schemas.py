"""The coverage gaps' answers: the JSON items (English field names) and, for each list, the one
mapping of its fields to the Vietnamese column titles of its CSV and XLSX exports (the data officers
read those; the order is the columns')."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from services.support.dependencies import Page


class HouseholdGap(BaseModel):
    household_id: str
    household_code: str | None
    commune_code: str
    unit_path: str
    status: str | None


HOUSEHOLD_COLUMNS = {"household_id": "ID hộ", "household_code": "Mã hộ", "commune_code": "Mã xã",
                     "unit_path": "Mã đơn vị (đầy đủ)", "status": "Tình trạng hộ"}


class HealthInsuranceGapPage(Page[HouseholdGap]):
    """The households without a card, and beside them what aggregate batches reported for the same unit
    and year: those name no household and close no household's gap."""

    aggregate_deliveries: int = Field(description="recorded aggregate deliveries of health-insurance programmes in "
                                                  "the unit (or your scope) and below in the year")
    aggregate_cards: int = Field(description="the cards they count (measure `card`); not matched to any household")
    aggregate_households: int = Field(description="the households they say they reached; not matched either")


class DeprivedHouseholdGap(HouseholdGap):
    deprived_indicators: list[str] = Field(description="every indicator the household's newest assessment finds "
                                                       "it deprived in")


DEPRIVED_COLUMNS = {**HOUSEHOLD_COLUMNS, "deprived_indicators": "Chỉ số thiếu hụt"}


class DeliveryGap(BaseModel):
    delivery_id: str
    delivered_on: date
    programme: str
    amount_vnd: int
    household_id: str
    household_code: str | None
    unit_path: str
    status: str | None
    transition: str | None
    review_year: int
    recognised_on: date = Field(description="the day the escape was recognised (only support from then on is listed)")


DELIVERY_COLUMNS = {"delivery_id": "ID lần hỗ trợ", "delivered_on": "Ngày hỗ trợ", "programme": "Mã chương trình",
                    "amount_vnd": "Số tiền (đồng)", "household_id": "ID hộ", "household_code": "Mã hộ",
                    "unit_path": "Mã đơn vị (đầy đủ)", "status": "Tình trạng hộ hiện nay",
                    "transition": "Biến động", "review_year": "Năm rà soát",
                    "recognised_on": "Ngày công nhận thoát nghèo"}
