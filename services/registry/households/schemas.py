"""Request and response bodies of the household, member, assessment and access-log endpoints, and the
functions that shape a household into an answer (masking its personal data per the caller)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.registry.households import rules
from services.registry.personal_data import InvalidCitizenId, PersonalDataCipher, mask_citizen_id, normalize_citizen_id
from shared import clock
from shared.text import TEXT, PlainText

Sex = Literal["male", "female"]
Relation = Literal["head", "spouse", "child", "parent", "grandchild", "grandparent", "sibling",
                   "child_in_law", "other"]
NonHeadRelation = Literal["spouse", "child", "parent", "grandchild", "grandparent", "sibling",
                          "child_in_law", "other"]
HOUSEHOLD_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,39}$"
MAX_MEMBERS = 40
# Text people type: shared.text refuses control characters, invisible direction marks (U+202E) and a
# leading formula character, as the imports do.
Ethnicity = Annotated[str, Field(max_length=60, description="e.g. Kinh, Tày, H'Mông"), TEXT]
Village = Annotated[str, Field(max_length=200, description="thôn, bản, tổ dân phố"), TEXT]
Address = Annotated[str, Field(max_length=300), TEXT]
BIRTH_DATE_RULE = "between 1900-01-01 and today; answered only with registry.personal_data.read"


def _citizen_id(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return normalize_citizen_id(value)
    except InvalidCitizenId as exc:
        raise ValueError(str(exc)) from None


def _birth_date(value: date | None) -> date | None:
    if value is not None and (problem := rules.birth_date_problem(value, clock.today())):
        raise ValueError(problem)
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Patch(Strict):
    """A change: at least one field (an empty body would change nothing and claim it had)."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    @model_validator(mode="after")
    def _not_empty(self) -> Patch:
        if not self.model_fields_set:
            raise ValueError("name at least one field to change")
        return self


class MemberIn(Strict):
    full_name: PlainText
    citizen_id: str | None = Field(None, description="12 digits (CCCD); stored encrypted")
    birth_date: date | None = Field(None, description=BIRTH_DATE_RULE)
    sex: Sex | None = None
    ethnicity: Ethnicity | None = None
    relation: Relation = Field(description="relation to the head of household; exactly one member is 'head'")
    no_labour_capacity: bool = False
    social_protection: bool = False
    policy_person: bool = Field(False, description="người có công")

    _cid = field_validator("citizen_id")(_citizen_id)
    _bd = field_validator("birth_date")(_birth_date)


class MemberAdd(MemberIn):
    relation: NonHeadRelation  # the head changes through PATCH head_member_id


class MemberPatch(Patch):
    full_name: PlainText | None = None
    citizen_id: str | None = None
    birth_date: date | None = Field(None, description=BIRTH_DATE_RULE)
    sex: Sex | None = None
    ethnicity: Ethnicity | None = None
    relation: NonHeadRelation | None = None
    no_labour_capacity: bool | None = None
    social_protection: bool | None = None
    policy_person: bool | None = None

    _cid = field_validator("citizen_id")(_citizen_id)
    _bd = field_validator("birth_date")(_birth_date)


class HouseholdCreate(Strict):
    household_code: str = Field(pattern=HOUSEHOLD_CODE_PATTERN, description="unique within the commune")
    commune_code: str = Field(pattern=r"^\d{5}$")
    hierarchy: Literal["v2008", "v2025"] | None = Field(
        None, description="which hierarchy the commune code belongs to; by default the caller's own")
    village: Village | None = None
    address: Address | None = None
    ethnic_minority: bool | None = Field(None, description="default: the head's ethnicity is not Kinh")
    policy_family: bool = False
    social_protection: bool = False
    no_labour_capacity: bool = False
    members: list[MemberIn] = Field(min_length=1, max_length=MAX_MEMBERS)

    @model_validator(mode="after")
    def _one_head(self) -> HouseholdCreate:
        heads = sum(1 for m in self.members if m.relation == "head")
        if heads != 1:
            raise ValueError(f"exactly one member must have relation 'head' (found {heads})")
        ids = [m.citizen_id for m in self.members if m.citizen_id]
        if len(ids) != len(set(ids)):
            raise ValueError("two members have the same citizen ID")
        return self


class HouseholdPatch(Patch):
    household_code: str | None = Field(None, pattern=HOUSEHOLD_CODE_PATTERN)
    village: Village | None = None
    address: Address | None = None
    ethnic_minority: bool | None = None
    policy_family: bool | None = None
    social_protection: bool | None = None
    no_labour_capacity: bool | None = None
    head_member_id: UUID | None = Field(None, description="make this member the head")
    former_head_relation: NonHeadRelation = Field("other", description="the former head's new relation")


class MemberOut(BaseModel):
    id: UUID
    full_name: str
    citizen_id: str | None = Field(description="masked (0012******45) without registry.personal_data.read")
    citizen_id_masked: bool
    birth_date: date | None = Field(description="null when masked; see birth_year")
    birth_year: int | None
    sex: str | None
    ethnicity: str | None
    relation: str
    is_head: bool
    no_labour_capacity: bool
    social_protection: bool
    policy_person: bool


class HouseholdSummary(BaseModel):
    id: UUID
    household_code: str
    commune_code: str
    unit_path: str
    village: str | None
    head_name: str
    member_count: int
    area: str
    ethnic_minority: bool
    policy_family: bool
    social_protection: bool
    no_labour_capacity: bool
    status: str | None = Field(description="the recognised status (or the year's, with the year filter)")
    status_year: int | None
    version: int
    removed: bool


class HouseholdOut(HouseholdSummary):
    address: str | None
    created_at: datetime
    updated_at: datetime
    removed_at: datetime | None
    removed_reason: str | None
    members: list[MemberOut]


class MemberWritten(MemberOut):
    household_version: int


class HistoryOut(BaseModel):
    id: UUID
    version: int
    action: str
    actor_id: str
    actor_role: str | None
    at: datetime
    reason: str | None
    before: dict[str, object] | None
    after: dict[str, object] | None
    correlation_id: str | None


class AccessLogOut(BaseModel):
    id: UUID
    household_id: UUID
    unit_path: str
    principal_id: str
    principal_role: str | None
    action: str = Field(description="read (the full record), lookup (a search by citizen ID), update (the answer "
                                    "to a change), replay (an Idempotency-Key replay of a create)")
    unmasked: bool
    purpose: str | None
    request_id: str | None
    at: datetime


class AssessmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    review_year: int = Field(ge=2016, le=2100)
    income_per_capita: int = Field(ge=0, le=10_000_000_000, description="VND per person per month")
    deprived_indicators: list[str] = Field(default_factory=list, max_length=20,
                                           description="canonical indicator codes of the year's standard")


class AssessmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: UUID
    household_id: UUID
    review_year: int
    kind: Literal["annual", "regular"] | str
    area: str
    income_per_capita: int
    deprived_indicators: list[str]
    deprived_count: int
    standard: str
    status: str
    poverty_line: int
    near_poverty_line: int | None
    middle_income_line: int | None
    explanation: str
    member_count: int
    state: str
    previous_status: str | None
    transition: str | None
    recognised_at: datetime | None
    certificate_number: str | None
    source: str
    created_at: datetime
    created_by: str | None


# ---- shaping a household into an answer ---------------------------------------------------------------------
def member_out(member: Any, cipher: PersonalDataCipher, unmasked: bool) -> MemberOut:
    """A member as the caller may see it: citizen ID masked (0012******45) and birth year only, unless
    `unmasked` (the caller holds registry.personal_data.read)."""
    citizen_id = None
    if member.citizen_id_enc is not None:
        plain = cipher.decrypt(member.citizen_id_enc)
        citizen_id = plain if unmasked else mask_citizen_id(plain)
    birth = member.birth_date
    return MemberOut(
        id=member.id, full_name=member.full_name, citizen_id=citizen_id, citizen_id_masked=not unmasked,
        birth_date=birth if unmasked else None, birth_year=birth.year if birth else None, sex=member.sex,
        ethnicity=member.ethnicity, relation=member.relation, is_head=member.is_head,
        no_labour_capacity=member.no_labour_capacity, social_protection=member.social_protection,
        policy_person=member.policy_person,
    )


def mask_stored(members: list[dict[str, Any]]) -> None:
    """Masks, in place, members of an answer stored unmasked (an Idempotency-Key replay to a caller who
    may no longer read personal data), as `member_out` would have."""
    for member in members:
        if member.get("citizen_id"):
            member["citizen_id"] = mask_citizen_id(member["citizen_id"])
        member["citizen_id_masked"], member["birth_date"] = True, None


def member_written(member: Any, household_version: int, cipher: PersonalDataCipher, unmasked: bool) -> MemberWritten:
    return MemberWritten(**member_out(member, cipher, unmasked).model_dump(), household_version=household_version)


def _summary_fields(household: Any, status: str | None, status_year: int | None,
                    use_given_status: bool) -> dict[str, Any]:
    return {
        "id": household.id, "household_code": household.household_code, "commune_code": household.commune_code,
        "unit_path": household.unit_path, "village": household.village, "head_name": household.head_name,
        "member_count": household.member_count, "area": household.area,
        "ethnic_minority": household.ethnic_minority, "policy_family": household.policy_family,
        "social_protection": household.social_protection, "no_labour_capacity": household.no_labour_capacity,
        "status": status if use_given_status else household.status,
        "status_year": status_year if use_given_status else household.status_year,
        "version": household.version, "removed": household.removed_at is not None,
    }


def summary(household: Any, status: str | None = None, status_year: int | None = None,
            use_given_status: bool = False) -> HouseholdSummary:
    return HouseholdSummary(**_summary_fields(household, status, status_year, use_given_status))


def full_record(household: Any, members: list[Any], cipher: PersonalDataCipher, unmasked: bool) -> HouseholdOut:
    """The household with its members (works on ORM rows and on the one-statement read's rows)."""
    return HouseholdOut(
        **_summary_fields(household, None, None, False), address=household.address,
        created_at=household.created_at, updated_at=household.updated_at, removed_at=household.removed_at,
        removed_reason=household.removed_reason, members=[member_out(m, cipher, unmasked) for m in members],
    )
