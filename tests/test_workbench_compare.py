"""The workbench's comparison: today's order lines against a what-if or an earlier plan run
of the run store, line by line (supplier, SKU, warehouse), with the value both ways."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from starlette.testclient import TestClient

from flows.config import Settings
from flows.storage.store import RunStore
from flows.workbench import create_app
from flows.workbench.views import DIFF_COLUMNS, order_diff


def _orders(rows: list[tuple[str, str, str, float, float]]) -> pd.DataFrame:
    """Order lines (supplier, SKU, warehouse, qty, unit cost)."""
    return pd.DataFrame({
        "supplier": [r[0] for r in rows], "sku": [r[1] for r in rows],
        "warehouse": [r[2] or None for r in rows], "qty": [r[3] for r in rows],
        "line_value": [r[3] * r[4] for r in rows],
    })


# Today: P1 for both pools, Q as before. The what-if (a budget cut) bought 24 fewer P1 for
# JD, none for Cainiao, and 5 R that today's plan does not buy.
TODAY = _orders([("S1", "P1", "京东FBP仓", 120.0, 20.0), ("S1", "P1", "菜鸟仓", 48.0, 20.0),
                 ("S2", "Q", "", 10.0, 50.0)])
WHATIF = _orders([("S1", "P1", "京东FBP仓", 96.0, 20.0), ("S2", "Q", "", 10.0, 50.0),
                  ("S3", "R", "", 5.0, 10.0)])


def test_the_diff_lists_added_changed_and_removed_lines_largest_value_first() -> None:
    diff = order_diff(TODAY, WHATIF)
    assert list(diff.columns) == DIFF_COLUMNS
    assert diff[["sku", "warehouse", "status", "qty", "other_qty", "change",
                 "value_change"]].values.tolist() == [
        ["P1", "菜鸟仓", "added", 48.0, 0.0, 48.0, 960.0],
        ["P1", "京东FBP仓", "changed", 120.0, 96.0, 24.0, 480.0],
        ["R", "", "removed", 0.0, 5.0, -5.0, -50.0],
    ]  # Q: 10 in both, not listed
    assert order_diff(TODAY, TODAY).empty


def _record(store: RunStore, day: date, config: str, frames: dict[str, pd.DataFrame]) -> str:
    run = store.begin_run("plan", day, config, {"sales": "a" * 64})
    store.save_outputs(run.run_id, frames)
    store.finish_run(run.run_id, "succeeded")
    return run.run_id


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    suppliers = pd.DataFrame({"supplier": ["S1", "S2"], "name": ["S1", "S2"],
                              "email": ["", ""]})
    with RunStore(url) as store:
        _record(store, date(2025, 3, 1), "c1", {"orders": TODAY.iloc[[2]]})
        _record(store, date(2025, 3, 2), "c1", {"orders": TODAY, "po_suppliers": suppliers})
        _record(store, date(2025, 3, 2), "whatif", {"orders": WHATIF})
    return TestClient(create_app(Settings(store_url=url)), base_url="http://127.0.0.1:8765")


def _rows(page: str) -> list[list[str]]:
    table = re.search(r'<table id="diff-table">(.*?)</table>', page, re.S)
    assert table
    return [[" ".join(re.sub(r"<[^>]+>", " ", c).split())
             for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table.group(1), re.S)
            if "<td" in row]


def test_the_page_compares_with_the_newest_other_run_or_the_one_chosen(
        client: TestClient) -> None:
    """By default the same day's what-if (value 3,860 today against 2,470 then); chosen,
    yesterday's plan, which bought only Q: both P1 lines are added."""
    with client:
        assert 'href="/compare"' in client.get("/").text
        page = client.get("/compare").text
        assert "same day: a what-if" in page
        assert "Order value 3,860 against 2,470 (+1,390)" in page
        assert _rows(page) == [
            ["S1", "P1", "菜鸟仓", "added", "48", "0", "+48", "+960"],
            ["S1", "P1", "京东FBP仓", "changed", "120", "96", "+24", "+480"],
            ["S3", "R", "", "removed", "0", "5", "-5", "-50"],
        ]
        runs = re.findall(r'<option value="([^"]+)"', page)
        earlier = client.get(f"/compare?run={runs[1]}&lang=zh_CN").text
    assert [r[:4] for r in _rows(earlier)] == [["S1", "P1", "京东FBP仓", "新增"],
                                               ["S1", "P1", "菜鸟仓", "新增"]]
