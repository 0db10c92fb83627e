"""Channel stock pools in what people read: each alert's sentence names its pool's warehouse
(English and Chinese), the digest names it once beside the SKU, the report shows the ship-to
of orders and the warehouse of alerts and lists the proposed transfers, and the workbench
shows the warehouse of lines and alerts (a SKU shipped to two warehouses is two lines, each
with its own explanation and previous quantity) and the transfers.

The plans are test_pools.py's: P1 (unit cost 20) from S1 (lead time 10 days) as of
2025-03-02; 品牌华东仓 (Douyin, 10 a day) holds nothing, 京东FBP仓 (JD, 10 a day) 500."""

from __future__ import annotations

import html
import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from starlette.testclient import TestClient
from test_pools import _LONG_AND_SHORT, _plan

from flows.config import Settings
from flows.i18n import language, localized_messages
from flows.outbound.notify.digest import RunSummary, build_digest
from flows.outbound.report.build import render_report
from flows.outbound.report.inputs import ReportInputs
from flows.storage.orderbook import OrderBook
from flows.storage.store import RunStore
from flows.workbench import create_app
from flows.workbench.views import EXPLANATION_COLUMNS
from replenishment.plan import PlanResult

_EMPTY_DOUYIN = "sku,warehouse,on_hand\nP1,品牌华东仓,0\nP1,京东FBP仓,500\n"
_POOLS = "品牌华东仓,,own,douyin,,2,1\n京东FBP仓,,platform,jd,,,\n"
_DAILY = {"douyin": 10.0, "jd": 10.0}


@pytest.fixture(scope="module")
def pooled() -> PlanResult:
    """Douyin's pool buys its window's 7 x 10 = 70 units (¥1,400), shipped to 品牌华东仓,
    and runs out on day 0: 10 days x 10 = 100 units short before the order can arrive."""
    return _plan(_EMPTY_DOUYIN, _POOLS, _DAILY)


@pytest.fixture(scope="module")
def moved() -> PlanResult:
    """test_pools' transfer: 150 units from 品牌华东仓 to 京东FBP仓 for ¥150, arriving
    2025-03-05, instead of buying 70 units for ¥1,400."""
    return _plan(_LONG_AND_SHORT, "品牌华东仓,,own,tmall,,,\n京东FBP仓,,platform,jd,,2,1\n",
                 {"tmall": 5.0, "jd": 10.0})


def _cells(row: str) -> list[str]:
    """The text of each cell of a table row, blanks collapsed."""
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", c)).split())
            for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def _rows(page: str, table: str) -> list[list[str]]:
    found = re.search(rf'<table id="{table}">(.*?)</table>', page, re.S)
    assert found, f"no table {table}"
    return [_cells(r) for r in re.findall(r"<tr[^>]*>(.*?)</tr>", found.group(1), re.S)
            if "<td" in r]


def test_an_alert_sentence_names_its_pool_in_english_and_chinese(pooled: PlanResult) -> None:
    alert = pooled.alerts.set_index("kind").loc["stockout_risk"]
    assert alert["warehouse"] == "品牌华东仓"
    assert alert["message"] == (
        "品牌华东仓: 100% chance of running out before 2025-03-13, the earliest arrival of a "
        "new order (10 days); typically out on 2025-03-03; expected 100.0 units short "
        "(on hand 0)")
    chinese = localized_messages(pooled.alerts, language("zh_CN"))
    assert chinese["message"].iloc[0].startswith("品牌华东仓：有 100% 的概率")
    assert "预计缺货 100.0 件" in chinese["message"].iloc[0]


def test_without_pools_the_sentence_names_no_warehouse() -> None:
    summed = _plan("sku,warehouse,on_hand\nP1,,0\n", None, _DAILY)
    risk = summed.alerts[summed.alerts["kind"] == "stockout_risk"].iloc[0]
    assert "warehouse" not in summed.alerts
    assert risk["message"].startswith("100% chance of running out")


def test_the_digest_names_the_pool_once_beside_the_sku(pooled: PlanResult) -> None:
    zh = language("zh_CN")
    digest = build_digest(localized_messages(pooled.alerts, zh),
                          RunSummary("示例美妆", "2025-03-02", "run-1"), {}, lang=zh,
                          names={"P1": "面霜"})
    [line] = [x for x in digest.text.splitlines() if "P1 面霜" in x]
    assert "P1 面霜 · 品牌华东仓" in line
    assert line.count("品牌华东仓") == 1
    assert "有 100% 的概率" in line


def test_the_report_shows_ship_to_warehouses_and_the_transfers(
        pooled: PlanResult, moved: PlanResult) -> None:
    inputs = ReportInputs(brand="示例美妆", as_of=date(2025, 3, 2), run_id="run-1",
                          orders=pooled.orders, alerts=pooled.alerts,
                          transfers=moved.transfers,
                          products=pd.DataFrame({"sku": ["P1"], "name": ["面霜"]}))
    page = render_report(inputs)
    orders = re.search(r'<h2 id="orders">.*?</table>', page, re.S)
    assert orders and "Ship to" in orders.group(0)
    rows = [_cells(r) for r in re.findall(r"<tr>(.*?)</tr>", orders.group(0), re.S)]
    assert rows[1] == ["S1", "品牌华东仓", "1", "70", "1,400", "2025-03-13"]
    alerts = re.search(r'<h2 id="alerts">.*?</table>', page, re.S)
    assert alerts and '<td class="warehouse">品牌华东仓</td>' in alerts.group(0)
    assert _rows(page, "transfer-table") == [
        ["P1", "面霜", "品牌华东仓", "京东FBP仓", "150", "2025-03-05", "150", "1,400"]]
    bare = render_report(ReportInputs(brand="b", as_of=date(2025, 3, 2), run_id="r",
                                      orders=pooled.orders.drop(columns="warehouse")))
    assert "Ship to" not in bare and "transfer-table" not in bare


def _record(store: RunStore, day: date, orders: pd.DataFrame,
            extra: dict[str, pd.DataFrame]) -> str:
    run = store.begin_run("plan", day, "c1", {"sales": f"{day:%Y%m%d}".ljust(64, "0")})
    store.save_outputs(run.run_id, {"orders": orders, **extra})
    store.finish_run(run.run_id, "succeeded")
    return run.run_id


def _orders(rows: list[tuple[str, float, float]]) -> pd.DataFrame:
    """S1's order lines of P1: (warehouse, qty, need); the rest of the explanation 0."""
    explanation = {c: 0.0 for c in EXPLANATION_COLUMNS} | {
        "coverage_start": pd.Timestamp("2025-03-13"), "coverage_end": pd.Timestamp("2025-03-19"),
        "cut_reason": ""}
    return pd.DataFrame({**explanation,
        "supplier": "S1", "sku": "P1", "warehouse": [w for w, _, _ in rows], "name": "面霜",
        "qty": [q for _, q, _ in rows], "case_pack": 12.0, "unit_cost": 20.0,
        "line_value": [q * 20.0 for _, q, _ in rows], "need": [n for _, _, n in rows],
        "order_date": pd.Timestamp("2025-03-03"), "expected_arrival": pd.Timestamp("2025-03-13"),
    })


def test_the_workbench_shows_warehouses_of_lines_and_alerts_and_the_transfers(
        tmp_path: Path, pooled: PlanResult, moved: PlanResult) -> None:
    """Yesterday's plan ordered 24 for 京东FBP仓; today's orders 120 for 京东FBP仓 (need
    118) and 48 for 菜鸟仓 (need 40). The supplier page holds two lines, each with its own
    explanation and change: +96 against 24, and +48 against nothing."""
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    today = _orders([("京东FBP仓", 120.0, 118.0), ("菜鸟仓", 48.0, 40.0)])
    with RunStore(url) as store:
        _record(store, date(2025, 3, 1), _orders([("京东FBP仓", 24.0, 20.0)]), {})
        run_id = _record(store, date(2025, 3, 2), today, {
            "po_suppliers": pd.DataFrame({"supplier": ["S1"], "name": ["S1"], "email": [""]}),
            "alerts": pooled.alerts, "transfers": moved.transfers})
        OrderBook(store).propose(run_id, date(2025, 3, 2), today,
                                 {"S1": "PO-20250302-S1"})
    with TestClient(create_app(Settings(store_url=url)),
                    base_url="http://127.0.0.1:8765") as client:
        overview = client.get("/").text
        supplier = client.get("/supplier?name=S1").text
    alert = _rows(overview, "alert-table")[0]
    assert alert[2:4] == ["P1", "品牌华东仓"]
    assert _rows(overview, "transfer-table") == [
        ["P1", "品牌华东仓", "京东FBP仓", "150", "2025-03-05", "150", "1,400"]]
    lines = _rows(supplier, "line-table")
    assert [line[:3] for line in lines] == [["PO-20250302-S1-001", "P1", "京东FBP仓"],
                                            ["PO-20250302-S1-002", "P1", "菜鸟仓"]]
    header = re.search(r'<table id="line-table">\s*<tr>(.*?)</tr>', supplier, re.S)
    assert header
    labels = [" ".join(re.sub(r"<[^>]+>", " ", h).split())
              for h in re.findall(r"<th[^>]*>(.*?)</th>", header.group(1), re.S)]
    pick = {name: labels.index(name) for name in ("previous run", "change", "need")}
    assert [[line[pick["previous run"]], line[pick["change"]], line[pick["need"]]]
            for line in lines] == [["24", "+96", "118"], ["0", "+48", "40"]]
