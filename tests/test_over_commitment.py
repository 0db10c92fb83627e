"""Over-commitments on the weekly commitments table (CPFR): a supplier committing more than
the order forecast asked, beyond ``commitment_over_share``, including weeks it asked nothing
of; one supplier alert per SKU valued at cost; the sentence in English and Chinese.

The order forecast of X from S asks 80 units in the week of 2025-03-03, nothing in the week
of 03-10, and 100 in each of the weeks of 03-17 and 03-24."""

from __future__ import annotations

import pandas as pd
import pytest

from flows.i18n import language, localized_messages
from replenishment.alerts import supplier_alerts
from replenishment.config import PlanningConfig
from replenishment.cpfr import cpfr_exceptions, over_commitment_exceptions

FORECAST = pd.DataFrame({
    "supplier": "S", "sku": "X",
    "week": pd.to_datetime(["2025-03-03", "2025-03-10", "2025-03-17", "2025-03-24"]),
    "qty": [80.0, 0.0, 100.0, 100.0],
})
# A Wednesday's answer counts for its calendar week. 80 as asked; 40 when nothing was asked;
# 105 (5% over: within the 10% tolerance); 150 (50 over).
COMMITMENTS = pd.DataFrame({
    "supplier": "S", "sku": "X",
    "week": pd.to_datetime(["2025-03-05", "2025-03-10", "2025-03-17", "2025-03-24"]),
    "qty": [80.0, 40.0, 105.0, 150.0],
})


def test_commitments_beyond_the_forecast_and_its_tolerance_are_exceptions() -> None:
    found = over_commitment_exceptions(FORECAST, COMMITMENTS, share=0.1)
    assert found["kind"].unique().tolist() == ["commitment_over"]
    assert found[["week", "expected", "actual"]].values.tolist() == [
        [pd.Timestamp("2025-03-10"), 0.0, 40.0], [pd.Timestamp("2025-03-24"), 100.0, 150.0]]
    # The share of the commitment nobody asked for: all of it, then 50 of 150.
    assert found["deviation"].tolist() == pytest.approx([1.0, 50 / 150])
    assert found["message"].iloc[1] == (
        "supplier S committed 150 units of X for the week of 2025-03-24, 50 more than the "
        "100 units the order forecast asked for (tolerance 10%)")
    # At a 60% tolerance only the week that asked nothing is left.
    assert over_commitment_exceptions(FORECAST, COMMITMENTS, share=0.6)["week"].tolist() == [
        pd.Timestamp("2025-03-10")]


def test_a_run_flags_over_commitments_beside_shortfalls_and_alerts_them_at_cost() -> None:
    short = COMMITMENTS.assign(qty=[60.0, 40.0, 105.0, 150.0])  # 60 of 80: 25% short
    config = PlanningConfig()
    found = cpfr_exceptions(FORECAST, short, pd.DataFrame(), None, pd.DataFrame(),
                            pd.DataFrame(), pd.Timestamp("2025-03-02"), config)
    assert found[["kind", "week"]].values.tolist() == [
        ["commitment_over", pd.Timestamp("2025-03-10")],
        ["commitment_over", pd.Timestamp("2025-03-24")],
        ["commitment_shortfall", pd.Timestamp("2025-03-03")],
    ]
    items = pd.DataFrame({"sku": ["X"], "supplier": ["S"], "unit_cost": [8.0],
                          "category": ["skincare"]})
    alerts = supplier_alerts(found, items, pd.Timestamp("2025-03-02"))
    over = alerts[alerts["message"].str.startswith("commitment_over")].iloc[0]
    # 40 + 50 units nobody asked for, at a unit cost of 8.
    assert over["value_at_risk"] == pytest.approx(720.0)
    assert "(and 1 later week(s))" in over["message"]
    chinese = localized_messages(found, language("zh_CN"))["message"].iloc[1]
    assert chinese == ("供应商 S 对 X 在 2025-03-24 当周承诺供货 150 件，比订单预测要求的 100 件"
                       "多 50 件（容差 10%）")
