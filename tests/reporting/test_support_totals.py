"""Support totals projected from the support service's events: per programme, body and funding source,
corrections and voids applied once and in version order, a malformed delivery parked, scope kept."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from shared.events import Event
from tests.kit import make_principal
from tests.reporting.conftest import Reporting
from tests.reporting.registry_events import COMMUNES_A, COMMUNES_B, DISTRICT_A, OTHER_COMMUNE, PROVINCE, all_unit_events
from tests.reporting.support_events import (
    SupportData,
    batch_event,
    catalogue_events,
    delivery,
    delivery_event,
    seed_003_deliveries,
)

READ = ["reporting.indicators.read"]
DISTRICT_OFFICER = make_principal("district_officer", [DISTRICT_A], permissions=READ)
COMMUNE_OFFICER = make_principal("commune_officer", [COMMUNES_A[0]], permissions=READ)
OTHER_PROVINCE_OFFICER = make_principal("province_officer", ["v2008.27"], permissions=READ)
SUPPORT = "reporting-support"


async def load(reporting: Reporting, events: list[Event]) -> None:
    await reporting.settled(await reporting.publish(all_unit_events()))
    await reporting.settled(await reporting.publish([*catalogue_events(), *events]), consumer=SUPPORT)


async def totals(reporting: Reporting, principal: Any = DISTRICT_OFFICER, **params: Any) -> dict[str, Any]:
    response = await reporting.get("/reporting/support/totals", principal, **params)
    assert response.status_code == 200, response.text
    return response.json()


def line(answer: dict[str, Any], programme: str) -> dict[str, Any]:
    return next(p for p in answer["programmes"] if p["programme"] == programme)


async def test_seed_003_policy_lines_add_up_per_programme_body_and_source(reporting: Reporting) -> None:
    await load(reporting, seed_003_deliveries().events)
    answer = await totals(reporting, unit=DISTRICT_A, year=2024)

    credit = line(answer, "nhcsxh_credit")
    assert credit["name"] == "Tín dụng ưu đãi Ngân hàng Chính sách xã hội"
    assert (credit["households"], credit["amount_vnd"], credit["amount_million_vnd"]) == (195, 6_896_000_000, "6896.00")
    assert line(answer, "bhyt_poor")["quantities"] == [{"measure": "card", "name": "thẻ", "quantity": "1405"}]
    education = line(answer, "education_costs")
    assert (education["turns"], education["amount_million_vnd"]) == (1326, "504.18")
    assert line(answer, "electricity")["amount_million_vnd"] == "349.86"
    housing = line(answer, "housing_repair")
    assert (housing["households"], housing["amount_million_vnd"]) == (17, "313.80")
    assert [(f["name"], f["amount_million_vnd"]) for f in housing["funding"]] == [
        ("Quỹ \"Mái ấm tình thương\" Hội LHPN", "124.80"), ("Quỹ Vì người nghèo thành phố", "189.00")]
    assert [(b["body"], b["households"]) for b in housing["bodies"]] == [("hlhpn", 7), ("phong_ldtbxh", 10)]
    rice = line(answer, "monthly_rice")
    assert (rice["households"], rice["persons"], rice["quantities"][0]["quantity"]) == (45, 108, "5410")

    amounts = [p["amount_vnd"] for p in answer["programmes"]]
    assert answer["total"]["amount_vnd"] == sum(amounts) == sum(s["amount_vnd"] for s in answer["sources"])
    children = {c["path"]: c for c in answer["children"]}
    assert children[COMMUNES_A[0]]["households"] == 110 + 800 + 900 + 10
    assert children[COMMUNES_A[1]]["households"] == 85 + 605 + 794 + 7
    assert children[COMMUNES_A[2]]["deliveries"] == 0
    # The district's own delivery (rice) is in the unit's total but in no commune.
    assert answer["total"]["households"] == sum(c["households"] for c in answer["children"]) + 45

    commune = await totals(reporting, COMMUNE_OFFICER, year=2024)
    assert commune["unit"]["path"] == COMMUNES_A[0] and commune["total"]["households"] == 110 + 800 + 900 + 10
    assert (await totals(reporting, unit=DISTRICT_A, year=2023))["programmes"] == []


def by_programme(states: list[dict[str, Any]]) -> dict[str, Counter[str]]:
    out: dict[str, Counter[str]] = {}
    for s in states:
        c = out.setdefault(s["programme"], Counter())
        c["deliveries"] += 1
        c["households"] += s["households"]
        c["amount_vnd"] += s["amount_vnd"]
        for q in s["quantities"]:
            c[q["measure"]] += int(q["quantity"])
    return out


async def test_corrections_voids_and_replays_count_once_in_version_order(reporting: Reporting) -> None:
    data = SupportData()
    states = [delivery(COMMUNES_A[i % 3], ("bhyt_poor", "electricity", "monthly_rice")[i % 3], 100_000 * (i % 3),
                       kind="household", households=1, quantities=[("kg", "10")] if i % 3 == 2 else [],
                       funding=[("state_central", 100_000 * (i % 3))] if i % 3 else [])
              for i in range(300)]
    batch = batch_event(states, job="import-7")
    data.events.append(batch)
    for s in states:
        data.states[s["delivery_id"]] = s
    # A correction moves a delivery to another programme and amount; another is voided.
    moved = {**states[1], "version": 2, "programme": "housing_repair", "amount_vnd": 20_000_000,
             "funding": [{"source": "vnn_fund_district", "source_kind": "vnn_fund", "source_level": "district",
                          "amount_vnd": 20_000_000}]}
    data.record({**moved, "previous": states[1], "changed": ["programme", "amount_vnd", "funding"]},
                "support.delivery.corrected")
    data.record({**states[2], "version": 2, "status": "voided", "void_reason": "trùng"}, "support.delivery.voided")
    # Late and repeated: the batch again (a producer re-sending it under a new id), an older version of
    # the moved delivery, and the correction once more.
    data.events.append(Event(type=batch.type, producer="support", subject_id=batch.subject_id, version=1,
                             unit_path=batch.unit_path, payload=batch.payload))
    data.events.append(delivery_event(states[1]))
    data.events.append(data.events[1])
    await reporting.settled(await reporting.publish(all_unit_events()))
    await reporting.settled(await reporting.publish(catalogue_events()), consumer=SUPPORT)
    await reporting.settled(await reporting.publish(data.events, with_msg_id=False), consumer=SUPPORT)

    answer = await totals(reporting, make_principal("province_officer", [PROVINCE], permissions=READ),
                          unit=PROVINCE, year=2024)
    expected = by_programme(data.counted(PROVINCE, 2024))
    assert {p["programme"] for p in answer["programmes"]} == set(expected)
    for programme, counts in expected.items():
        got = line(answer, programme)
        assert (got["deliveries"], got["households"], got["amount_vnd"]) == (
            counts["deliveries"], counts["households"], counts["amount_vnd"]), programme
        kg = next((q["quantity"] for q in got["quantities"] if q["measure"] == "kg"), "0")
        assert Decimal(kg) == counts["kg"], programme
    assert line(answer, "housing_repair")["funding"][0]["amount_vnd"] == 20_000_000
    assert answer["total"]["deliveries"] == 299  # 300 recorded, one voided


async def test_a_delivery_whose_funding_does_not_add_up_is_parked_and_the_rest_applied(reporting: Reporting) -> None:
    bad = delivery(COMMUNES_A[0], "electricity", 500_000, funding=[("state_central", 400_000)])
    good = delivery(COMMUNES_A[0], "electricity", 300_000, funding=[("state_central", 300_000)])
    await load(reporting, [delivery_event(bad), delivery_event(good)])
    answer = await totals(reporting, unit=DISTRICT_A, year=2024)
    assert line(answer, "electricity")["amount_vnd"] == 300_000
    from tests.reporting.conftest import OPERATOR

    status = (await reporting.get("/reporting/status", OPERATOR)).json()
    assert next(c for c in status["consumers"] if c["consumer"] == SUPPORT)["dead_letters"] == 1


@pytest.mark.parametrize(("principal", "unit", "allowed"), [
    (COMMUNE_OFFICER, COMMUNES_A[0], True),
    (COMMUNE_OFFICER, COMMUNES_A[1], False),
    (COMMUNE_OFFICER, DISTRICT_A, False),
    (DISTRICT_OFFICER, COMMUNES_A[2], True),
    (DISTRICT_OFFICER, COMMUNES_B[0], False),
    (DISTRICT_OFFICER, PROVINCE, False),
    (OTHER_PROVINCE_OFFICER, DISTRICT_A, False),
    (OTHER_PROVINCE_OFFICER, OTHER_COMMUNE, True),
])
async def test_support_totals_stay_within_the_callers_scope(reporting: Reporting, principal: Any, unit: str,
                                                            allowed: bool) -> None:
    await load(reporting, seed_003_deliveries().events)
    for asked in (unit, unit.rsplit(".", 1)[-1]):
        response = await reporting.get("/reporting/support/totals", principal, unit=asked, hierarchy="v2008",
                                       year=2024)
        if allowed:
            assert response.status_code == 200, response.text
        else:
            assert response.status_code == 403 and "amount" not in response.text, response.text
    no_permission = make_principal("surveyor", [PROVINCE], permissions=["registry.households.read"])
    assert (await reporting.get("/reporting/support/totals", no_permission, unit=PROVINCE)).status_code == 403


async def test_a_v2025_unit_includes_what_its_old_communes_recorded(reporting: Reporting) -> None:
    from tests.reporting.registry_events import NEW_COMMUNES, NEW_PROVINCE

    old = delivery(COMMUNES_A[0], "electricity", 300_000, funding=[("state_central", 300_000)])
    new = delivery(NEW_COMMUNES[0], "electricity", 200_000, funding=[("state_central", 200_000)],
                   delivered_on="2025-09-01")
    old_2025 = delivery(COMMUNES_A[1], "electricity", 50_000, funding=[("state_central", 50_000)],
                        delivered_on="2025-03-01")
    await load(reporting, [delivery_event(old), delivery_event(new), delivery_event(old_2025)])
    officer = make_principal("province_officer", [NEW_PROVINCE], permissions=READ)
    before = await totals(reporting, officer, unit=NEW_PROVINCE, year=2024)
    assert before["total"]["amount_vnd"] == 300_000 and before["crosswalk_applied"]
    assert {c["path"]: c["amount_vnd"] for c in before["children"]}["v2025.24.07210"] == 300_000
    after = await totals(reporting, officer, unit=NEW_PROVINCE, year=2025)
    assert after["total"]["amount_vnd"] == 250_000  # the new commune's 200,000 and 07210's old 50,000
    assert {c["path"]: c["amount_vnd"] for c in after["children"]}["v2025.24.07210"] == 250_000
    old_view = await totals(reporting, make_principal("province_officer", [PROVINCE], permissions=READ),
                            unit=PROVINCE, year=2025)
    assert old_view["total"]["amount_vnd"] == 50_000  # the old hierarchy shows only what it recorded
