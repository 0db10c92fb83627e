"""The order book with channel stock pools: one PO may ship a SKU to two warehouses (two
lines, each with its own decisions across re-runs, on SQLite and PostgreSQL), a store made
before the warehouse column upgrades in place, a reply cannot name such a SKU by PO and SKU
alone, and open lines come back as open orders of the warehouse they ship to, so the next
plan counts them in that pool. (The PostgreSQL cases skip when no server answers.)"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from alembic import command
from planning_data import AS_OF, Forecast, make_dataset, scenarios_from

from flows.config import PurchaseOrderSettings
from flows.outbound.orders import _plan_lines, _with_reply_columns
from flows.outbound.purchase_order import build_purchase_order
from flows.storage.orderbook import OrderBook
from flows.storage.sources.orderbook import with_order_book
from flows.storage.store import RunStore, alembic_config
from replenishment import PlanningConfig
from replenishment.cpfr import lifecycle_open_orders, match_replies
from replenishment.plan import plan

DAY = date(2025, 3, 2)
PO = "PO-20250302-S1"


def _orders(jd: float, cainiao: float, a2: float = 42.0, *, pools: bool = True,
            ) -> pd.DataFrame:
    """S1's plan: A1 for 京东FBP仓 and for 菜鸟仓, A2 for 菜鸟仓 only."""
    rows = [("A1", "京东FBP仓", jd), ("A1", "菜鸟仓", cainiao), ("A2", "菜鸟仓", a2)]
    frame = pd.DataFrame({
        "supplier": "S1", "sku": [k for k, _, _ in rows], "name": "",
        "warehouse": [w for _, w, _ in rows], "qty": [q for _, _, q in rows],
        "case_pack": [12.0, 12.0, 6.0], "unit_cost": [10.0, 10.0, 5.0],
        "order_date": pd.Timestamp("2025-03-03"), "expected_arrival": pd.Timestamp("2025-03-17"),
    })
    return frame if pools else frame.drop(columns="warehouse")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'runs.db'}"
    return str(request.getfixturevalue("pg_url"))


def test_two_warehouses_of_one_sku_are_two_lines_that_keep_their_own_decisions(
        store_url: str) -> None:
    """Line 1 is A1 for 京东FBP仓, line 2 A1 for 菜鸟仓 (sorted by SKU, then warehouse), line 3
    A2. The planner edits line 1 to 132 and approves line 2 at 48. The same day planned
    again (A1: 240 for JD, 96 for Cainiao; A2 54): line 1 keeps the planner's 132, line 2
    stays approved at 48, only line 3 (untouched) takes the new 54. Keyed by SKU alone, the
    second A1 row overwrote the first."""
    with RunStore(store_url) as store:
        book = OrderBook(store)
        ids = book.propose("plan-1", DAY, _orders(120.0, 48.0), {"S1": PO})
        assert ids == [f"{PO}-001", f"{PO}-002", f"{PO}-003"]
        book.edit(f"{PO}-001", "li", qty=132.0)
        book.decide([f"{PO}-002"], "approved", "wang")
        again = book.propose("plan-2", DAY, _orders(240.0, 96.0, 54.0), {"S1": PO})
        lines = book.lines().set_index("line_id")
    assert again == [f"{PO}-003"]
    assert lines[["sku", "warehouse", "status", "qty", "proposed_qty"]].values.tolist() == [
        ["A1", "京东FBP仓", "proposed", 132.0, 120.0],
        ["A1", "菜鸟仓", "approved", 48.0, 48.0],
        ["A2", "菜鸟仓", "proposed", 54.0, 54.0],
    ]


def test_auto_approval_rules_apply_per_warehouse_line(store_url: str) -> None:
    """A rule given for (A1, 菜鸟仓) approves that line only; a rule given for a SKU
    approves it in every warehouse."""
    with RunStore(store_url) as store:
        book = OrderBook(store)
        book.propose("plan-1", DAY, _orders(120.0, 48.0), {"S1": PO},
                     auto={("A1", "菜鸟仓"): "amount 480.00 below 500.00", "A2": "rule"})
        status = book.lines().set_index("line_id")["status"].to_dict()
    assert status == {f"{PO}-001": "proposed", f"{PO}-002": "approved",
                      f"{PO}-003": "approved"}


def test_a_store_made_before_the_warehouse_column_upgrades_and_keeps_its_lines(
        store_url: str) -> None:
    """A store at revision 0004 holding line 1 (A1, no warehouse) opens at the latest
    revision: the line ships to no warehouse, and a re-run without pools revises it in place
    (A1 240 on line 1, A2 new on line 2) instead of adding a second A1 line."""
    engine = sa.create_engine(store_url)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "0004")
            old = sa.Table("po_lines", sa.MetaData(), autoload_with=connection)
            assert "warehouse" not in old.c
            connection.execute(old.insert().values(
                line_id=f"{PO}-001", po_id=PO, line_no=1, run_id="old", as_of=DAY,
                supplier="S1", sku="A1", name="", case_pack=12.0, unit_cost=10.0,
                proposed_qty=120.0, qty=120.0, order_date=DAY, proposed_date=date(2025, 3, 17),
                delivery_date=date(2025, 3, 17), status="proposed",
                updated_at=datetime.now(UTC)))
    finally:
        engine.dispose()
    with RunStore(store_url) as store:
        book = OrderBook(store)
        assert book.lines()["warehouse"].isna().all()
        orders = _orders(240.0, 0.0, pools=False).iloc[[0, 2]]
        ids = book.propose("plan-2", DAY, orders, {"S1": PO})
        lines = book.lines()
    assert ids == [f"{PO}-001", f"{PO}-002"]
    assert lines[["line_id", "sku", "qty"]].values.tolist() == [
        [f"{PO}-001", "A1", 240.0], [f"{PO}-002", "A2", 42.0]]


def _sent_lines() -> pd.DataFrame:
    """Two sent lines of A1 on one PO, due 2025-03-13: 70 for 品牌华东仓 (the supplier
    confirmed 60) and 30 for 京东FBP仓 (unanswered)."""
    return pd.DataFrame({
        "po_id": PO, "line_id": [f"{PO}-001", f"{PO}-002"], "line_no": [1, 2],
        "supplier": "S1", "sku": "P1", "qty": [70.0, 30.0],
        "delivery_date": pd.Timestamp("2025-03-13"),
        "status": ["partly_confirmed", "sent"],
        "sent_at": pd.Timestamp("2025-03-01T02:00", tz="UTC"),
        "confirmed_qty": [60.0, float("nan")], "confirmed_date": pd.NaT,
        "warehouse": ["品牌华东仓", "京东FBP仓"],
    })


def test_open_lines_come_back_as_open_orders_of_their_warehouse() -> None:
    """Both lines come back, each in its warehouse, at the confirmed 60 and the ordered 30.
    When the ERP lists the JD line (same PO, SKU and warehouse) only the other is added."""
    erp = pd.DataFrame(columns=["sku", "supplier", "qty", "eta", "po_id", "warehouse"])
    added = lifecycle_open_orders(_sent_lines(), erp, AS_OF)
    assert added[["sku", "warehouse", "qty"]].values.tolist() == [
        ["P1", "品牌华东仓", 60.0], ["P1", "京东FBP仓", 30.0]]
    listed = pd.DataFrame({"sku": ["P1"], "supplier": ["S1"], "qty": [30.0],
                           "eta": [pd.Timestamp("2025-03-13")], "po_id": [PO],
                           "warehouse": ["京东FBP仓"]})
    merged = lifecycle_open_orders(_sent_lines(), listed, AS_OF)
    assert merged[["warehouse", "qty", "po_id"]].values.tolist() == [
        ["京东FBP仓", 30.0, PO], ["品牌华东仓", 60.0, PO]]


def test_a_reply_naming_a_sku_on_two_lines_by_po_and_sku_is_refused() -> None:
    reply = pd.DataFrame({"po_number": [PO], "sku": ["P1"], "confirmed_qty": ["70"]})
    matched, problems = match_replies(_sent_lines(), reply, "reply.csv")
    assert matched.empty
    assert [(p.row, p.value) for p in problems] == [(2, f"{PO}|P1")]
    assert "on lines 1, 2 of the PO" in problems[0].expected
    by_line = pd.DataFrame({"po_number": [PO], "line": ["2"], "confirmed_qty": ["30"]})
    matched, problems = match_replies(_sent_lines(), by_line, "reply.csv")
    assert problems == [] and matched["line_id"].tolist() == [f"{PO}-002"]


_TABLES = {
    "sales": ("date,sku,channel,units,price\n2025-02-28,P1,douyin,10,50\n"
              "2025-02-28,P1,jd,10,50\n"),
    "products": "sku,supplier,unit_cost,case_pack,moq,name,price\nP1,S1,20,1,0,面霜,50\n",
    "suppliers": "supplier,lead_time_days,lead_time_std_days,review_days\nS1,10,0,7\n",
    "open_orders": "sku,supplier,qty,eta\n",
    # JD's warehouse is the main pool: an open order naming no warehouse would land there.
    "warehouses": ("warehouse,pool,kind,channels\n京东FBP仓,,platform,jd\n"
                   "品牌华东仓,,own,douyin\n"),
    "inventory": "sku,warehouse,on_hand\nP1,品牌华东仓,0\nP1,京东FBP仓,500\n",
}


def _forecast() -> Forecast:
    """P1 sells 10 a day on Douyin and 10 on JD, on every path, for 56 days."""
    start = AS_OF + pd.Timedelta(days=1)
    dates = pd.date_range(start, periods=56, freq="D")
    sku = pd.DataFrame({"sku": "P1", "date": dates, "forecast": 20.0, "p50": 20.0,
                        "p90": 20.0, "p95": 20.0, "p99": 20.0, "model": "test"})
    channel = pd.concat([sku.assign(channel=ch, forecast=10.0, p50=10.0, p90=10.0, p95=10.0,
                                    p99=10.0) for ch in ("douyin", "jd")], ignore_index=True)
    return Forecast(channel, sku, scenarios_from(np.full((1, 20, 56), 20.0), ["P1"], start))


def test_the_next_plan_counts_an_open_line_in_the_pool_it_ships_to() -> None:
    """品牌华东仓 (Douyin, 10 a day) holds nothing: its firm order, arriving on day 10, buys
    the window's 7 x 10 = 70 units. With the order book's sent line of 70 for 品牌华东仓 due
    that day (day 10, 2025-03-13), the pool's window is covered and the plan buys nothing;
    JD's 500 units stay JD's. Had the line come back without its warehouse, it would sit in
    JD's pool (the main one) and the Douyin pool would buy its 70 again."""
    dataset = make_dataset(**_TABLES)
    before = plan(dataset, _forecast(), PlanningConfig(), AS_OF)
    assert before.orders[["warehouse", "qty"]].values.tolist() == [["品牌华东仓", 70]]
    line = _sent_lines().iloc[[0]].assign(status="sent", confirmed_qty=float("nan"))
    after = plan(with_order_book(dataset, line), _forecast(), PlanningConfig(), AS_OF)
    assert after.orders.empty
    levels = after.levels.set_index("warehouse")
    # Stock when the firm order would arrive (day 10): the line's 70 in the Douyin pool;
    # JD's 500 less its 10 days x 10 sold.
    assert levels.loc["品牌华东仓", "stock_at_arrival"] == pytest.approx(70.0)
    assert levels.loc["京东FBP仓", "stock_at_arrival"] == pytest.approx(400.0)


def test_the_po_sent_ships_each_line_to_its_warehouse_under_its_own_id() -> None:
    """The supplier's file holds A1 twice: line 1 to 京东FBP仓 (120), line 2 to 菜鸟仓 (48),
    each with its line id; a line naming no warehouse ships to the configured ship-to."""
    book = pd.DataFrame({
        "po_id": PO, "line_id": [f"{PO}-001", f"{PO}-002", f"{PO}-003"], "line_no": [1, 2, 3],
        "supplier": "S1", "sku": ["A1", "A1", "A2"], "name": "", "qty": [120.0, 48.0, 42.0],
        "case_pack": [12.0, 12.0, 6.0], "unit_cost": [10.0, 10.0, 5.0],
        "order_date": pd.Timestamp("2025-03-03"), "delivery_date": pd.Timestamp("2025-03-17"),
        "warehouse": ["京东FBP仓", "菜鸟仓", None],
    })
    options = PurchaseOrderSettings(ship_to="华东总仓")
    order = build_purchase_order("S1", _plan_lines(book), pd.DataFrame(
        columns=["sku", "week", "qty"]), as_of=DAY, options=options)
    table = _with_reply_columns(order, book, options).lines
    assert table[["line", "line_id", "sku", "ship_to", "qty"]].values.tolist() == [
        [1, f"{PO}-001", "A1", "京东FBP仓", 120], [2, f"{PO}-002", "A1", "菜鸟仓", 48],
        [3, f"{PO}-003", "A2", "华东总仓", 42]]
