"""The household's rules without a database: status words, defaults, history snapshots, birth dates."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace
from uuid import uuid4

from services.registry.households import rules
from tests.kit import make_principal


def test_the_status_words_are_the_classifiers_and_the_listed_ones_are_poor_and_near_poor() -> None:
    assert rules.STATUSES == ("poor", "near_poor", "middle_income", "not_poor")
    assert {"poor", "near_poor"} == rules.RECOGNISED_STATUSES
    assert rules.STATUS_PATTERN == "^(poor|near_poor|middle_income|not_poor)$"


def test_defaults_come_from_the_commune_and_the_head() -> None:
    assert rules.area_of(True) == "urban" and rules.area_of(False) == "rural" and rules.area_of(None) == "rural"
    assert rules.is_ethnic_minority("tay") and not rules.is_ethnic_minority("kinh")
    assert not rules.is_ethnic_minority("")  # no ethnicity given: not assumed a minority


def test_birth_dates_lie_between_1900_and_today() -> None:
    today = date(2026, 1, 1)
    assert rules.birth_date_problem(date(1900, 1, 1), today) is None
    assert rules.birth_date_problem(today, today) is None
    assert rules.birth_date_problem(date(1899, 12, 31), today) is not None
    assert rules.birth_date_problem(date(2026, 1, 2), today) is not None


def test_history_keeps_only_what_changed_and_never_a_plain_citizen_id() -> None:
    class Masker:
        def masked(self, blob: bytes | None) -> str | None:
            return None if blob is None else "0012******45"

    member = SimpleNamespace(id=uuid4(), full_name="Lò Văn A", birth_date=date(1980, 5, 1), sex="male",
                             ethnicity="Thái", relation="head", is_head=True, no_labour_capacity=False,
                             social_protection=False, policy_person=False, citizen_id_enc=b"secret")
    snap = rules.member_snapshot(member, Masker())
    assert snap["citizen_id"] == "0012******45" and snap["birth_date"] == "1980-05-01"
    before, after = rules.changes({"village": "A", "address": None}, {"village": "B", "address": None})
    assert (before, after) == ({"village": "A"}, {"village": "B"})


def test_personal_data_unmasked_only_with_its_permission() -> None:
    assert rules.may_read_personal_data(make_principal("x", ["v2008.24"], ["registry.personal_data.read"]))
    assert not rules.may_read_personal_data(make_principal("x", ["v2008.24"], ["registry.households.read"]))
