"""The per-run report: numbers, escaping, self-containment, accuracy, and a real browser render."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from planning_data import AS_OF as PLAN_AS_OF
from planning_data import make_dataset, make_forecast

from flows.outbound.report import (
    ReportInputs,
    ReportOptions,
    at_risk_skus,
    recent_accuracy,
    render_report,
    report_inputs,
    stored_forecasts,
    write_report,
)
from flows.outbound.report.series import projected_inventory
from flows.storage.store import RunStore
from forecasting.contract import DataContractError
from replenishment.plan import plan

AS_OF = pd.Timestamp("2025-03-02")
EVIL_NAME = "<script>alert('x')</script> serum"
SKUS = ["A1", "A2", "B1", "B2", "C1"]
MEANS = {"A1": 20.0, "A2": 6.0, "B1": 3.0, "B2": 9.0, "C1": 1.5}


def _sales(days: int = 150) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    dates = pd.date_range(end=AS_OF, periods=days, freq="D")
    rows = []
    for sku, mean in MEANS.items():
        weekly = 1.0 + 0.3 * np.sin(2 * np.pi * np.arange(days) / 7)
        for channel, share in (("tmall", 0.7), ("douyin", 0.3)):
            units = rng.poisson(mean * share * weekly)
            out = np.zeros(days, dtype=int)
            if sku == "A1":
                out[-20:-14] = 1  # a week out of stock in February
                units[-20:-14] = 0
            rows.append(pd.DataFrame({"date": dates, "sku": sku, "channel": channel,
                                      "units": units.astype(float), "stockout": out}))
    frame = pd.concat(rows, ignore_index=True)
    # zero days are absent rows, unless they record a stockout
    return frame[(frame["units"] > 0) | (frame["stockout"] > 0)].reset_index(drop=True)


def _forecast(horizon: int = 28) -> pd.DataFrame:
    dates = pd.date_range(AS_OF + pd.Timedelta(days=1), periods=horizon, freq="D")
    rows = []
    for sku, mean in MEANS.items():
        level = mean * (1.0 + 0.3 * np.sin(2 * np.pi * np.arange(150, 150 + horizon) / 7))
        rows.append(pd.DataFrame({
            "sku": sku, "date": dates, "forecast": level, "p50": np.floor(level),
            "p90": level * 1.6, "p95": level * 1.9, "p99": level * 2.6,
        }))
    return pd.concat(rows, ignore_index=True)


def _inputs(**changes: object) -> ReportInputs:
    levels = pd.DataFrame({
        "sku": SKUS, "supplier": ["S1", "S1", "S2", "S2", "S2"],
        "on_hand": [60.0, 200.0, 5.0, 400.0, 10.0], "on_order": [120.0, 0, 0, 0, 0],
        "safety_stock": [90.0, 30.0, 12.0, 40.0, 6.0],
        "reorder_point": [380.0, 120.0, 40.0, 130.0, 18.0],
        "order_up_to": [520.0, 160.0, 60.0, 200.0, 25.0],
        "protection_demand": [430.0, 130.0, 48.0, 160.0, 19.0],
    })
    orders = pd.DataFrame({
        "supplier": ["S1", "S1", "S2"], "sku": ["A1", "A2", "B1"],
        "name": ["玫瑰精华液", EVIL_NAME, "口红 #01"],
        "order_date": AS_OF, "qty": [348.0, 24.0, 60.0],
        "expected_arrival": [AS_OF + pd.Timedelta(days=14)] * 2 + [AS_OF + pd.Timedelta(days=7)],
        "unit_cost": [10.0, 5.0, 50.0], "line_value": [3480.0, 120.0, 3000.0],
    })
    open_orders = pd.DataFrame({"sku": ["A1"], "supplier": ["S1"], "qty": [120.0],
                                "eta": [AS_OF + pd.Timedelta(days=3)]})
    alerts = pd.DataFrame({
        "alert_id": ["a1", "a2", "a3", "a4"],
        "kind": ["stockout_risk", "event_readiness", "overstock", "stockout_risk"],
        "severity": ["high", "critical", "low", "medium"],
        "sku": ["A1", "B1", "B2", "A2"], "channel": ["", "douyin", "", ""],
        "date": [AS_OF + pd.Timedelta(days=9), AS_OF + pd.Timedelta(days=5), pd.NaT,
                 AS_OF + pd.Timedelta(days=20)],
        "message": ["72% chance of running out before 2025-03-16",
                    "livestream <b>Spring</b> on 2025-03-07 needs 90 units, 5 in stock",
                    "stock covers 44 days", "31% chance of running out"],
        "value_at_risk": [5400.0, 10200.0, 800.0, 300.0],
    })
    previous = [("run-0215", "2025-02-15", _forecast().assign(
                    date=lambda f: f["date"] - pd.Timedelta(days=15))),
                ("run-0222", "2025-02-22", _forecast().assign(
                    date=lambda f: f["date"] - pd.Timedelta(days=8)))]
    sales = _sales()
    base = {
        "brand": "Rose & Co <Test>", "as_of": AS_OF, "run_id": "run-0302",
        "sales": sales, "forecast_sku": _forecast(), "levels": levels, "orders": orders,
        "alerts": alerts, "open_orders": open_orders,
        "products": pd.DataFrame({"sku": SKUS, "name": ["玫瑰精华液", EVIL_NAME, "口红 #01",
                                                        "hand cream", "lip balm"]}),
        "accuracy": recent_accuracy(previous, sales),
        "links": {"Orders S1": "orders/S1.csv", "Alerts": "alerts.csv"},
        "expected_fill_rate": 0.968,
    }
    base.update(changes)
    return ReportInputs(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def html() -> str:
    return render_report(_inputs())


# -- numbers and content -------------------------------------------------------------------

def _cell_text(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}">([^<]*)<', html)
    assert match, element_id
    return match.group(1)


def test_headline_shows_run_orders_alerts_and_fill_rate(html: str) -> None:
    assert "run-0302" in html and "2025-03-02" in html
    assert _cell_text(html, "skus-planned") == "5"
    assert _cell_text(html, "order-lines") == "3"
    assert _cell_text(html, "order-value") == "6,600"
    assert _cell_text(html, "alert-count") == "4"
    assert _cell_text(html, "value-at-risk") == "16,700"
    assert _cell_text(html, "fill-rate") == "96.8%"
    for severity in ("critical", "high", "medium", "low"):
        assert f"1 {severity}</span>" in html
    # per supplier: S1 has two lines worth 3,600, S2 one worth 3,000
    s1 = re.search(r"<td>S1</td>(.*?)</tr>", html, re.S)
    assert s1 and re.findall(r'class="num">([^<]*)<', s1.group(1))[:3] == ["2", "372", "3,600"]
    s2 = re.search(r"<td>S2</td>(.*?)</tr>", html, re.S)
    assert s2 and re.findall(r'class="num">([^<]*)<', s2.group(1))[:3] == ["1", "60", "3,000"]


def test_alerts_table_lists_most_severe_first(html: str) -> None:
    table = html[html.index('id="alerts"'):html.index('id="at-risk"')]
    order = re.findall(r'<span class="sev (\w+)">', table)
    assert order == ["critical", "high", "medium", "low"]
    row = re.search(r"<tr><td><span class=\"sev critical\">.*?</tr>", table, re.S)
    assert row is not None
    assert "event readiness" in row.group(0) and "B1" in row.group(0)
    assert "口红 #01" in row.group(0) and "10,200" in row.group(0)


def test_input_text_is_escaped(html: str) -> None:
    assert "<script" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; serum" in html
    assert "livestream &lt;b&gt;Spring&lt;/b&gt;" in html
    assert "Rose &amp; Co &lt;Test&gt;" in html


def test_report_is_self_contained(html: str) -> None:
    external = re.compile(r"""(?:\bsrc|\bhref)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?"""
                          r"""\s*(?:https?:)?//|@import|<link\b|<iframe\b|<object\b""", re.I)
    assert not external.findall(html)
    assert "<style>" in html
    assert html.count("<svg") == 4 + 1  # a chart per SKU with an alert or an order + accuracy


def test_sku_sections_follow_risk_and_show_levels(html: str) -> None:
    sections = re.findall(r'<section class="sku".*?<h3>([^<]*)</h3>', html, re.S)
    assert [s.split(" · ")[0] for s in sections] == ["B1", "A1", "A2", "B2"]
    first = html[html.index('id="sku-1"'):html.index('id="sku-2"')]
    assert "supplier S2" in first
    for label, value in (("On hand", "5"), ("Safety stock", "12"), ("Reorder point", "40"),
                         ("Ordered now", "60")):
        assert re.search(rf"{label}</span><span class=\"value\">{value}<", first), label
    # 5 on hand, forecast 3.39 then 2.61 a day: the second day runs short
    assert re.search(r"Projected stockout</span>\s*<span class=\"value warn\">2025-03-04<", first)
    assert "new order</td><td class=\"date\">2025-03-09</td>" in first


def test_accuracy_section_lists_earlier_runs(html: str) -> None:
    section = html[html.index('id="accuracy"'):]
    assert "run-0222" in section and "run-0215" in section
    assert section.index("run-0222") < section.index("run-0215")  # newest first
    assert re.search(r"2025-02-16 – 2025-03-02 \(\d+\)", section)


def test_links_render_and_script_urls_do_not() -> None:
    page = render_report(_inputs(links={"Orders": "orders/S1.csv",
                                        "Bad": "javascript:alert(1)"}, alerts=pd.DataFrame()))
    assert '<a href="orders/S1.csv">Orders</a>' in page
    assert "javascript:" not in page and "<li>Bad</li>" in page
    assert "No alerts this run." in page


def test_missing_column_names_the_frame_and_column() -> None:
    bad = _inputs(levels=_inputs().levels.drop(columns=["reorder_point"]))
    with pytest.raises(DataContractError) as err:
        render_report(bad)
    message = str(err.value)
    assert "report input levels" in message and "'reorder_point'" in message


def test_top_sku_option_limits_charts() -> None:
    page = render_report(_inputs(), ReportOptions(top_skus=2, top_alerts=1))
    assert page.count('<section class="sku"') == 2
    assert "3 more alerts in alerts.csv." in page


def test_write_report_is_atomic(tmp_path: Path) -> None:
    target = tmp_path / "out" / "report.html"
    assert write_report(_inputs(), target) == target
    first = target.read_text(encoding="utf-8")
    assert first.startswith("<!DOCTYPE html>")
    with pytest.raises(DataContractError):
        write_report(_inputs(orders=pd.DataFrame({"sku": ["A1"]})), target)
    assert target.read_text(encoding="utf-8") == first
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]


# -- pure parts ----------------------------------------------------------------------------

def test_at_risk_skus_rank_by_severity_then_value_then_order_size() -> None:
    alerts = pd.DataFrame({
        "alert_id": list("abcd"), "kind": "stockout_risk", "date": AS_OF, "message": "",
        "severity": ["medium", "high", "medium", "low"], "sku": ["X", "Y", "Z", ""],
        "value_at_risk": [100.0, 1.0, 500.0, 9e9],
    })
    orders = pd.DataFrame({"supplier": "S", "sku": ["P", "Q", "X"], "qty": 1.0,
                           "expected_arrival": AS_OF, "line_value": [10.0, 90.0, 1e6]})
    assert at_risk_skus(alerts, orders, 5) == ["Y", "Z", "X", "Q", "P"]
    assert at_risk_skus(alerts, orders, 2) == ["Y", "Z"]


def test_projected_inventory_loses_unmet_demand_and_books_overdue_receipts() -> None:
    forecast = pd.DataFrame({"date": pd.date_range("2025-03-03", periods=5),
                             "forecast": [4.0, 4.0, 4.0, 4.0, 4.0]})
    receipts = pd.DataFrame({"date": pd.to_datetime(["2025-02-20", "2025-03-06"]),
                             "qty": [2.0, 10.0]})
    out = projected_inventory(5.0, receipts, forecast, AS_OF)
    assert out["date"].iloc[0] == AS_OF
    assert out["inventory"].tolist() == [5.0, 3.0, 0.0, 0.0, 6.0, 2.0]
    assert out["short"].tolist() == [0.0, 0.0, 1.0, 4.0, 0.0, 0.0]


def test_recent_accuracy_matches_hand_computed_numbers() -> None:
    sales = pd.DataFrame({
        "date": pd.to_datetime(["2025-03-01", "2025-03-02", "2025-03-02", "2025-03-03",
                                "2025-03-02"]),
        "sku": ["A", "A", "A", "A", "B"], "channel": ["t", "t", "d", "t", "t"],
        "units": [99.0, 6.0, 4.0, 1.0, 3.0], "stockout": [0, 0, 0, 1, 0],
    })
    forecast = pd.DataFrame({
        "sku": ["A", "A", "A", "B", "B"],
        "date": pd.to_datetime(["2025-03-02", "2025-03-03", "2025-03-04", "2025-03-02",
                                "2025-03-03"]),
        "forecast": [8.0, 50.0, 7.0, 2.0, 5.0], "p90": [12.0, 60.0, 9.0, 2.5, 6.0],
    })
    too_new = forecast.assign(date=forecast["date"] + pd.Timedelta(days=5))
    table = recent_accuracy([("r1", "2025-03-01", forecast), ("r2", "2025-03-05", too_new)],
                            sales)
    assert table["run_id"].tolist() == ["r1"]
    row = table.iloc[0]
    # Compared: A 03-02 (8 vs 10), B 03-02 (2 vs 3), B 03-03 (5 vs 0: no sales row);
    # A 03-03 is a stockout day, 03-04 is after the last sale.
    assert row["days"] == 2 and row["skus"] == 2
    assert row["actual"] == 13.0 and row["forecast"] == 15.0
    assert row["wape"] == pytest.approx((2 + 1 + 5) / 13)
    assert row["bias"] == pytest.approx(2 / 13)
    assert row["below_p90"] == pytest.approx(2 / 3)  # 10 <= 12 and 0 <= 6, not 3 <= 2.5


def test_report_renders_without_history_or_forecast() -> None:
    page = render_report(ReportInputs(brand="b", as_of="2025-03-02", run_id="r",
                                      orders=_inputs().orders))
    assert page.count('<section class="sku"') == 3
    assert "No earlier run has sales after its as-of date yet." in page


# -- a real browser ------------------------------------------------------------------------

def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _share_near(pixels: np.ndarray, rgb: tuple[int, int, int], tolerance: int = 12) -> float:
    return float((np.abs(pixels.astype(int) - np.array(rgb)).max(axis=2) <= tolerance).mean())


def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs it")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    report = write_report(_inputs(), tmp_path / "report.html")
    shot = tmp_path / "report.png"
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
         f"--screenshot={shot}", "--window-size=1280,2000", report.resolve().as_uri()],
        check=True, capture_output=True, timeout=120,
    )
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert pixels.shape == (2000, 1280, 3)
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50  # text, badges, charts
    assert (pixels.min(axis=2) >= 245).mean() < 0.9  # not a blank page
    assert pixels[15, 640].max() < 80  # the dark run header spans the top
    # a chart was drawn: the forecast's orange and the history's grey-blue are on screen
    assert _share_near(pixels, (0xEA, 0x58, 0x0C)) > 1e-4
    assert _share_near(pixels, (0x94, 0xA3, 0xB8)) > 1e-3


# -- the engine's own results and the run store ---------------------------------------------

def test_report_from_a_real_plan_and_stored_forecasts(tmp_path: Path) -> None:
    dataset = make_dataset()
    forecast = make_forecast({"A1": 20.0, "A2": 5.0, "B1": 2.0, "OLD": 0.1})
    planned = plan(dataset, forecast, None, PLAN_AS_OF)
    with RunStore(f"sqlite:///{tmp_path / 'runs.db'}") as store:
        for day, shift in (("2025-02-26", 4), ("2025-02-27", 3), ("2025-03-02", 0)):
            run = store.begin_run("forecast", pd.Timestamp(day).date(), "cfg", {"sales": day})
            store.save_outputs(run.run_id, {"forecast_sku": forecast.sku.assign(
                date=forecast.sku["date"] - pd.Timedelta(days=shift))})
            store.finish_run(run.run_id, "succeeded")
        failed = store.begin_run("forecast", pd.Timestamp("2025-02-28").date(), "cfg", {})
        store.save_outputs(failed.run_id, {"forecast_sku": forecast.sku})
        store.finish_run(failed.run_id, "failed", error="boom")
        previous = stored_forecasts(store, before=PLAN_AS_OF, limit=5)
    assert [pd.Timestamp(as_of).date().isoformat() for _, as_of, _ in previous] == ["2025-02-26",
                                                                       "2025-02-27"]
    accuracy = recent_accuracy(previous, dataset.demand.sales)
    inputs = report_inputs("Rose", "plan-1", PLAN_AS_OF, dataset, forecast, planned,
                           accuracy=accuracy, links={"Alerts": "alerts.csv"})
    page = render_report(inputs)
    assert _cell_text(page, "skus-planned") == str(len(planned.levels))
    assert _cell_text(page, "order-lines") == str(len(planned.orders))
    assert _cell_text(page, "alert-count") == str(len(planned.alerts))
    assert page.count('<section class="sku"') == len(at_risk_skus(planned.alerts,
                                                                  planned.orders, 8))
    assert "玫瑰精华液" in page and "=HYPERLINK(&#34;x&#34;)" in page
    assert "2025-02-27" in page[page.index('id="accuracy"'):]
