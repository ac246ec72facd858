"""Reporting's fund ledger counts reversals (`support.fund.reversed`): a reversed spend and a reversed
transfer net out of the figures summed by kind, and the balances stay the sums of the lines."""

from __future__ import annotations

from tests.kit import fetch
from tests.reporting.conftest import Reporting
from tests.reporting.registry_events import COMMUNES_A, DISTRICT_A
from tests.reporting.support_events import fund_event, fund_events


async def test_reversals_net_out_of_the_fund_ledger(reporting: Reporting) -> None:
    district, commune = DISTRICT_A, COMMUNES_A[0]
    reversals = [
        fund_event("reversed", commune, "fund-a0", 30_000_000, "2024-11-02", "e5", 4, reversed_entry_id="e4",
                   reversed_kind="spend", amount_signed_vnd=30_000_000, direction="in", reason="Ghi nhầm",
                   programme="housing_repair"),
        fund_event("reversed", district, "fund-213", 20_000_000, "2024-10-20", "e6", 3, reversed_entry_id="e2",
                   reversed_kind="transfer_out", amount_signed_vnd=20_000_000, direction="in", reason="Chuyển nhầm",
                   to_fund_id="fund-a0", to_entry_id="e7", to_reversed_entry_id="e3",
                   to_unit_code=commune.rsplit(".", 1)[-1], to_unit_path=commune, to_unit_level="commune",
                   to_balance_after=15_000_000),
    ]
    await reporting.settled(await reporting.publish([*fund_events(), *reversals]), consumer="reporting-support")
    rows = await fetch(reporting.db_url, "SELECT fund_id, kind, sum(amount_vnd)::bigint FROM rp_fund_entries "
                                         "GROUP BY fund_id, kind ORDER BY fund_id, kind")
    assert {(r[0], r[1]): r[2] for r in rows} == {
        ("fund-213", "donation"): 100_000_000, ("fund-213", "transfer_out"): 0,
        ("fund-a0", "donation"): 15_000_000, ("fund-a0", "transfer_in"): 0, ("fund-a0", "spend"): 0}
    lines = await fetch(reporting.db_url, "SELECT entry_id, fund_id, amount_vnd, counterpart_fund_id FROM "
                                          "rp_fund_entries WHERE entry_id IN ('e5', 'e6', 'e7') ORDER BY entry_id")
    assert [tuple(r) for r in lines] == [("e5", "fund-a0", 30_000_000, None), ("e6", "fund-213", 20_000_000, "fund-a0"),
                                         ("e7", "fund-a0", -20_000_000, "fund-213")]
