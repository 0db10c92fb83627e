"""Channel stock pools: stock, demand, orders and alerts per pool, transfers between pools
when cheaper than a purchase, inbound appointment days, and the warehouses table's errors.

Every case plans one SKU, P1 (unit cost 20, case pack 1, no MOQ), from supplier S1 (lead
time 10 days, no spread, weekly review) as of Sunday 2025-03-02: the first planned day is
Monday 03-03 (day 0), a firm order arrives on day 10 (Thursday 03-13) and covers days 10-16.
Demand is the same on every path (no uncertainty), so each need is exact.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from planning_data import AS_OF, Forecast, make_dataset, scenarios_from

from flows.config import Settings
from flows.pipeline.outputs import write_plan_outputs
from forecasting.contract import DataContractError
from replenishment import PlanningConfig
from replenishment.plan import PlanResult, plan
from replenishment.pools import TRANSFER_COLUMNS, weekday_numbers

_TABLES = {
    "sales": "date,sku,channel,units,price\n2025-02-28,P1,tmall,5,50\n2025-02-28,P1,jd,10,50\n",
    "products": "sku,supplier,unit_cost,case_pack,moq,name,price\nP1,S1,20,1,0,面霜,50\n",
    "suppliers": "supplier,lead_time_days,lead_time_std_days,review_days\nS1,10,0,7\n",
    "open_orders": "sku,supplier,qty,eta\n",
}
_HEADER = ("warehouse,pool,kind,channels,inbound_weekdays,transfer_lead_time_days,"
           "transfer_cost_per_unit\n")


def _forecast(daily: dict[str, float], horizon: int = 56, paths: int = 20) -> Forecast:
    """P1 sells ``daily[channel]`` units a day on each channel, on every path."""
    start = AS_OF + pd.Timedelta(days=1)
    dates = pd.date_range(start, periods=horizon, freq="D")
    total = float(sum(daily.values()))
    scenarios = scenarios_from(np.full((1, paths, horizon), total), ["P1"], start)
    sku = pd.DataFrame({"sku": "P1", "date": dates, "forecast": total, "p50": total,
                        "p90": total, "p95": total, "p99": total, "model": "test"})
    channel = pd.concat([sku.assign(channel=ch, forecast=units, p50=units, p90=units,
                                    p95=units, p99=units) for ch, units in daily.items()],
                        ignore_index=True)
    return Forecast(channel, sku, scenarios)


def _plan(inventory: str, warehouses: str | None, daily: dict[str, float]) -> PlanResult:
    tables = {**_TABLES, "inventory": inventory}
    if warehouses is not None:
        tables["warehouses"] = _HEADER + warehouses
    return plan(make_dataset(**tables), _forecast(daily), PlanningConfig(), AS_OF)


_LONG_AND_SHORT = "sku,warehouse,on_hand\nP1,品牌华东仓,1000\nP1,京东FBP仓,0\n"


def test_a_transfer_from_the_long_pool_replaces_the_purchase_when_cheaper() -> None:
    """品牌华东仓 (own, Tmall 5/day) holds 1,000; 京东FBP仓 (JD 10/day) holds none, and
    moving a unit into it takes 2 days and costs ¥1.

    Without a transfer JD's firm order buys its window's 7 x 10 = 70 units (¥1,400). The
    brand's pool is long: at day 10 it holds 1,000 - 50 = 950 against 35 units of window
    demand, 915 spare. The transfer carries the 70 plus the 8 x 10 = 80 units JD would lose
    on days 2-9 (before the purchase could arrive): 150 units, arriving Wednesday 03-05 for
    ¥150. With them JD holds 150 - 80 = 70 at day 10, exactly its window: nothing is bought,
    and ¥150 < ¥1,400 keeps the transfer."""
    warehouses = ("品牌华东仓,,own,tmall,,,\n"
                  "京东FBP仓,,platform,jd,,2,1\n")
    result = _plan(_LONG_AND_SHORT, warehouses, {"tmall": 5.0, "jd": 10.0})
    assert list(result.transfers.columns) == TRANSFER_COLUMNS
    moved = result.transfers.iloc[0]
    assert len(result.transfers) == 1
    assert (moved["sku"], moved["from_warehouse"], moved["to_warehouse"]) == (
        "P1", "品牌华东仓", "京东FBP仓")
    assert moved["qty"] == 150
    assert moved["expected_arrival"] == pd.Timestamp("2025-03-05")
    assert moved["transfer_cost"] == pytest.approx(150.0)
    assert moved["purchase_avoided"] == pytest.approx(70.0)
    assert moved["purchase_value_avoided"] == pytest.approx(1400.0)
    assert result.orders.empty
    levels = result.levels.set_index("warehouse")
    assert levels.loc["品牌华东仓", "on_hand"] == pytest.approx(850.0)  # 1,000 - 150 moved


def test_a_purchase_when_the_transfer_is_dearer() -> None:
    """The same pools at ¥10 a unit moved: 150 units cost ¥1,500, more than the ¥1,400
    purchase they avoid. JD's pool buys its 70 units, shipped to 京东FBP仓; no transfer."""
    warehouses = ("品牌华东仓,,own,tmall,,,\n"
                  "京东FBP仓,,platform,jd,,2,10\n")
    result = _plan(_LONG_AND_SHORT, warehouses, {"tmall": 5.0, "jd": 10.0})
    assert result.transfers.empty
    assert result.orders[["sku", "warehouse", "qty"]].values.tolist() == [
        ["P1", "京东FBP仓", 70]]
    assert result.orders["line_value"].tolist() == [1400.0]


def test_stock_in_a_platform_pool_never_serves_another_channel() -> None:
    """京东FBP仓 holds 500 for JD (10/day); the brand's pool (Douyin, 10/day) holds none.

    Summed, 500 covers both channels well past the window (500 - 20 x 10 = 300 at day 10
    against 140): no order. Per pool, Douyin's pool buys its window's 70 units and is at risk
    of running out before they arrive; JD's stock stays for JD (no transfer out of a
    platform warehouse)."""
    stock = "sku,warehouse,on_hand\nP1,品牌华东仓,0\nP1,京东FBP仓,500\n"
    daily = {"douyin": 10.0, "jd": 10.0}
    summed = _plan(stock, None, daily)
    assert summed.orders.empty
    assert "warehouse" not in summed.orders
    warehouses = ("品牌华东仓,,own,douyin,,2,1\n"
                  "京东FBP仓,,platform,jd,,,\n")
    pooled = _plan(stock, warehouses, daily)
    assert pooled.transfers.empty
    assert pooled.orders[["warehouse", "qty"]].values.tolist() == [["品牌华东仓", 70]]
    risks = pooled.alerts[pooled.alerts["kind"] == "stockout_risk"]
    assert risks[["sku", "warehouse"]].values.tolist() == [["P1", "品牌华东仓"]]


def test_one_pool_for_every_warehouse_plans_as_without_a_mapping() -> None:
    """Two warehouses in one pool serving every channel: their stock is summed, as without a
    mapping, and the order is the same (15/day, 300 on hand: 300 - 150 = 150 at day 10
    against 105; the next week's order is not this run's: no line)."""
    stock = "sku,warehouse,on_hand\nP1,华东仓,100\nP1,华南仓,200\n"
    daily = {"tmall": 5.0, "jd": 10.0}
    alone = _plan(stock, None, daily)
    pooled = _plan(stock, "华东仓,品牌仓,own,,,,\n华南仓,品牌仓,,,,,\n", daily)
    assert pooled.levels["warehouse"].tolist() == ["品牌仓"]
    assert pooled.levels["on_hand"].tolist() == alone.levels["on_hand"].tolist() == [300.0]
    columns = ["qty", "expected_arrival", "need"]
    assert pooled.orders[columns].equals(alone.orders[columns])
    tight = "sku,warehouse,on_hand\nP1,华东仓,40\nP1,华南仓,60\n"  # 100 - 150 < 0 by day 10
    assert _plan(tight, None, daily).orders["qty"].tolist() == [105]
    assert _plan(tight, "华东仓,品牌仓,own,,,,\n华南仓,品牌仓,,,,,\n",
                 daily).orders["qty"].tolist() == [105]


def test_a_platform_warehouse_receives_on_its_inbound_weekdays() -> None:
    """京东FBP仓 books deliveries on Tuesdays: the order that would arrive on Thursday 03-13
    waits for Tuesday 03-18 (day 15) and covers days 15-21: 70 units."""
    stock = "sku,warehouse,on_hand\nP1,京东FBP仓,0\n"
    warehouses = "品牌华东仓,,own,tmall,,,\n京东FBP仓,,platform,jd,周二,,\n"
    result = _plan(stock, warehouses, {"jd": 10.0})
    line = result.orders.iloc[0]
    assert line["warehouse"] == "京东FBP仓"
    assert line["expected_arrival"] == pd.Timestamp("2025-03-18")
    assert line["qty"] == 70
    assert weekday_numbers("Tue, 4、周六") == (frozenset({1, 3, 5}), [])


def test_a_bad_warehouses_row_is_named_by_file_row_and_column() -> None:
    """A channel given to two pools, a weekday nobody knows, a pool setting that differs
    between its warehouses, a transfer cost without its lead time, and stock in a warehouse
    the table does not list."""
    warehouses = ("品牌华东仓,品牌仓,own,\"tmall,jd\",,,\n"
                  "京东FBP仓,,platform,jd,Funday,,3\n"
                  "品牌华南仓,品牌仓,platform,,,,\n")
    stock = "sku,warehouse,on_hand\nP1,品牌华东仓,5\nP1,菜鸟仓,7\n"
    with pytest.raises(DataContractError) as caught:
        _plan(stock, warehouses, {"jd": 1.0})
    found = {(p.source, p.row, p.column, p.value) for p in caught.value.problems}
    assert found == {
        ("warehouses.csv", 3, "channels", "jd"),
        ("warehouses.csv", 3, "inbound_weekdays", "Funday"),
        ("warehouses.csv", 3, "transfer_lead_time_days", None),
        ("warehouses.csv", 4, "kind", "platform"),
        ("inventory.csv", 3, "warehouse", "菜鸟仓"),
    }
    text = str(caught.value)
    assert "warehouses.csv, row 3, column 'channels': got 'jd'; expected each channel " \
           "served by one pool (row 2 gives it to pool 品牌仓)" in text
    with pytest.raises(DataContractError, match="one of own, platform"):
        _plan(stock, "品牌华东仓,,JD,,,,\n", {"jd": 1.0})


def test_the_output_folder_holds_the_transfers_and_each_line_ships_to_its_pool(
        tmp_path: Path) -> None:
    """``transfers.csv`` in the run's language (调出仓, 调入仓...), and a supplier's purchase
    order names the warehouse each line ships to."""
    warehouses = "品牌华东仓,,own,tmall,,,\n京东FBP仓,,platform,jd,,2,1\n"
    moved = _plan(_LONG_AND_SHORT, warehouses, {"tmall": 5.0, "jd": 10.0})
    empty = pd.DataFrame()
    forecast = SimpleNamespace(channel=empty, sku=empty, data_quality=empty, returns=empty)
    summary = {"as_of": "2025-03-02"}
    write_plan_outputs(moved, forecast, tmp_path, summary,  # type: ignore[arg-type]
                       Settings(locale="zh_CN"))
    table = pd.read_csv(tmp_path / "transfers.csv", dtype=str)
    assert table[["商品编码", "调出仓", "调入仓", "数量（件）", "调拨费用", "免采购金额"]
                 ].values.tolist() == [["P1", "品牌华东仓", "京东FBP仓", "150", "150.0",
                                        "1400.0"]]
    bought = _plan(_LONG_AND_SHORT, warehouses.replace(",2,1", ",2,10"),
                   {"tmall": 5.0, "jd": 10.0})
    write_plan_outputs(bought, forecast, tmp_path / "en", summary)  # type: ignore[arg-type]
    assert pd.read_csv(tmp_path / "en" / "transfers.csv").empty
    order = pd.read_csv(tmp_path / "en" / "orders" / "S1.csv", dtype=str)
    assert order[["sku", "qty", "ship_to"]].values.tolist() == [["P1", "70", "京东FBP仓"]]


def test_units_still_on_their_way_are_not_spare() -> None:
    """The brand's pool holds nothing but expects 1,000 tomorrow (an open order shipping to
    品牌华东仓): long on paper, but nothing can leave today. JD's pool buys its 70."""
    tables = {**_TABLES, "inventory": "sku,warehouse,on_hand\nP1,品牌华东仓,0\n",
              "open_orders": "sku,supplier,qty,eta,warehouse\nP1,S1,1000,2025-03-04,品牌华东仓\n",
              "warehouses": _HEADER + "品牌华东仓,,own,tmall,,,\n京东FBP仓,,platform,jd,,2,1\n"}
    result = plan(make_dataset(**tables), _forecast({"tmall": 5.0, "jd": 10.0}),
                  PlanningConfig(), AS_OF)
    assert result.transfers.empty
    assert result.orders[["warehouse", "qty"]].values.tolist() == [["京东FBP仓", 70]]
