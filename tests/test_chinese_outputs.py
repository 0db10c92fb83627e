"""Outputs in the planner's language: catalogs, digest, supplier e-mail, terminal summary,
report (with a CJK font that really renders in Chromium) and the supplier purchase order."""

from __future__ import annotations

import io
import os
import re
import subprocess
import time
import zipfile
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import jinja2.ext
import numpy as np
import pandas as pd
import pytest
import python_calamine
from babel.messages.extract import extract_from_dir
from PIL import Image
from test_report import _chromium, _inputs

from flows.config import PurchaseOrderSettings, SupplierMailSettings
from flows.i18n import KIND_LABELS, SEVERITY_LABELS, catalog_path, language
from flows.outbound.delivery import build_supplier_email
from flows.outbound.notify.digest import RunSummary, build_digest
from flows.outbound.purchase_order import (
    ORDER_COLUMNS,
    SHARED_COLUMNS,
    build_purchase_order,
    po_number,
    write_purchase_orders,
)
from flows.outbound.report import ReportOptions, render_report
from flows.outbound.report.charts import CJK_FONTS, cjk_font
from flows.outbound.terminal import describe_run
from replenishment.messages import MESSAGES

ZH = language("zh_CN")
EN = language("en")
FLOWS = Path(__file__).resolve().parent.parent / "flows"


# -- catalogs ---------------------------------------------------------------------------------

def _translated(msgid: str, context: str | None = None) -> bool:
    if context:
        return ZH.translations.pgettext(context, msgid) != msgid
    return ZH.translations.gettext(msgid) != msgid


def test_every_message_in_the_code_has_a_chinese_translation() -> None:
    method_map = [("**.py", "python"), ("**/templates/**.j2", "jinja2")]
    options = {"**/templates/**.j2": {"extensions": "jinja2.ext.i18n"}}
    found = set()
    for _, _, message, _, _ in extract_from_dir(
        str(FLOWS), method_map, options_map=options,
        keywords={"gettext": None, "ngettext": (1, 2), "_": None, "_t": None},
        callback=None,
    ):
        found.add(message if isinstance(message, str) else message[0])
    assert len(found) > 80  # the digest, supplier mail, terminal, report and charts
    # The planning core's alert and exception sentences are translated too (message ids).
    wanted = (found | set(KIND_LABELS.values()) | set(SEVERITY_LABELS.values())
              | set(MESSAGES.values()))
    missing = sorted(m for m in wanted if m and not _translated(m) and m not in {"WAPE", "SKU"})
    assert missing == []
    assert all(_translated(c, "column") for c in (*ORDER_COLUMNS, *SHARED_COLUMNS))
    assert catalog_path("zh_CN").suffix == ".po"  # shipped as .po, compiled in memory
    assert jinja2.ext.i18n  # the report's extension


def test_money_is_yuan_with_separators_in_chinese() -> None:
    assert ZH.money(1234567.891, 0) == "¥1,234,568"
    assert ZH.money(12.5) == "¥12.50"
    assert EN.money(1234567.891, 0) == "1,234,568"


# -- digest, supplier e-mail, terminal ----------------------------------------------------------

def _alerts() -> pd.DataFrame:
    return pd.DataFrame({
        "alert_id": ["a1", "a2"], "kind": ["stockout_risk", "overstock"],
        "severity": ["critical", "low"], "sku": ["MSK-0001", "TNR-0004"],
        "channel": ["tmall", ""], "date": [pd.Timestamp("2026-11-05"), pd.NaT],
        "message": ["62% chance of running out", "stock covers 200 days"],
        "value_at_risk": [12345.6, 800.0],
    })


def test_digest_is_chinese_with_product_names_and_yuan() -> None:
    summary = RunSummary("示例美妆", "2026-11-01", "r-1", counts={"order_lines": 3},
                         totals={"order_value": 45678.0})
    names = {"MSK-0001": "玻尿酸补水面膜 5片装"}
    zh = build_digest(_alerts(), summary, {"Report": "https://x/report.html"}, lang=ZH,
                      names=names)
    assert zh.title.startswith("[示例美妆] 补货计划 2026-11-01：1 紧急, 1 低")
    assert "[缺货风险] MSK-0001 玻尿酸补水面膜 5片装 · tmall · 2026-11-05 · 风险金额 ¥12,346" \
        in zh.markdown
    assert "订单金额 ¥45,678" in zh.text and "[报告](https://x/report.html)" in zh.markdown
    en = build_digest(_alerts(), summary, {"Report": "https://x/report.html"}, lang=EN)
    assert en.title == "[示例美妆] Replenishment 2026-11-01: 1 critical, 1 low"
    assert "[stockout risk] MSK-0001 · tmall · 2026-11-05 · at risk 12,346" in en.markdown


def test_supplier_email_is_chinese() -> None:
    settings = SupplierMailSettings(enabled=True, sender="plan@brand.cn")
    files = [("orders-SUP-01.xlsx", b"PK"), ("orders-SUP-01.csv", b"sku,qty\nA,1\nB,2\n")]
    zh = build_supplier_email("SUP-01", "杭州美研", ["a@sup.cn"], files, settings,
                              brand="示例美妆", as_of="2026-11-01", revised=True, lang=ZH)
    assert zh["Subject"] == "【修订】示例美妆：采购订单 2026-11-01（SUP-01）"
    body = zh.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "杭州美研 您好" in body and "orders-SUP-01.csv（2 行）" in body
    kinds = [part.get_content_type() for part in zh.iter_attachments()]
    assert kinds == ["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     "text/csv"]
    en = build_supplier_email("SUP-01", "Acme", ["a@sup.cn"], files, settings, brand="B",
                              as_of="2026-11-01")
    assert en["Subject"] == "B: purchase order 2026-11-01 (SUP-01)"


def _outcome() -> SimpleNamespace:
    return SimpleNamespace(
        run_id="r-9", as_of=pd.Timestamp("2026-11-01"), out=Path("outputs/demo"),
        summary={"order_lines": 4, "order_value": 12345.5, "suppliers_ordered": 2,
                 "exceptions": 1, "alerts": {"high": 2}, "money_at_risk": 16000.0,
                 "solver": {"status": "Optimal", "proven_optimal": True}},
        report=Path("outputs/demo/report.html"), whatif=False, cached=(),
        notices=SimpleNamespace(digests=[], failed=[]),
    )


def test_terminal_summary_in_each_language() -> None:
    zh = describe_run(_outcome(), ZH)
    assert zh.startswith("计划运行 r-9 截至 2026-11-01")
    assert "4 行，金额 ¥12,345.50，发往 2 家供应商" in zh
    assert "2 高 (alerts.csv)；风险金额 ¥16,000" in zh
    en = describe_run(_outcome(), EN)
    assert en.startswith("Planning run r-9 as of 2026-11-01")
    assert "  orders:        4 lines worth 12,345.5 to 2 suppliers" in en
    assert "2 high (alerts.csv); money at risk 16,000" in en


# -- report -------------------------------------------------------------------------------------

def test_report_headings_charts_and_font_stack_in_chinese() -> None:
    html = render_report(_inputs(), ReportOptions(top_skus=1, locale="zh_CN"))
    assert '<html lang="zh-CN">' in html
    for text in ("补货计划", "各供应商订单", "重点关注 SKU", "缺货风险", "每日销量与预测",
                 "¥6,600"):
        assert text in html, text
    assert '"Noto Sans CJK SC"' in html and '"Microsoft YaHei"' in html
    english = render_report(_inputs(), ReportOptions(top_skus=1))
    assert "Orders per supplier" in english and "Units sold per day and forecast" in english


def test_charts_name_a_cjk_font_found_by_matplotlib() -> None:
    found = cjk_font()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("no CJK font; .ci/run installs fonts-noto-cjk")
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    assert found in CJK_FONTS
    html = render_report(_inputs(), ReportOptions(top_skus=1, locale="zh_CN"))
    assert re.search(rf"font-family:\s*'?{found}", html) or f"'{found}'" in html


def _glyph_cells(browser: str, tmp_path: Path, text: str) -> list[np.ndarray]:
    """Screenshot ``text`` in the report's font stack, one character per 100 px cell."""
    stack = re.search(r"font: 14px/1.45 ([^;]+);", render_report(_inputs(), ReportOptions(
        top_skus=0, locale="zh_CN"))).group(1)  # type: ignore[union-attr]
    cells = "".join(f'<span style="position:absolute;left:{i * 100}px;top:0;width:100px;'
                    f'height:100px">{c}</span>' for i, c in enumerate(text))
    page = tmp_path / "glyphs.html"
    page.write_text(f'<html lang="zh-CN"><style>body {{ margin: 0; font: 80px/100px {stack}; }}'
                    f"</style><body>{cells}</body></html>", encoding="utf-8")
    shot = tmp_path / "glyphs.png"
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}",
         f"--window-size={max(100 * len(text), 500)},400", page.resolve().as_uri()],
        check=True, capture_output=True, timeout=120,
    )
    gray = np.asarray(Image.open(shot).convert("L"), dtype=float)
    return [gray[:100, i * 100:(i + 1) * 100] for i in range(len(text))]


def test_chinese_glyphs_render_in_headless_chromium_not_boxes(tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs it")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    # Missing glyphs draw the same box for every character; real glyphs differ.
    cells = _glyph_cells(browser, tmp_path, "缺货补单")
    ink = [float((cell < 128).mean()) for cell in cells]
    assert all(share > 0.01 for share in ink), ink  # something is drawn in every cell
    differences = [float(np.abs(a - b).mean()) for i, a in enumerate(cells)
                   for b in cells[i + 1:]]
    assert min(differences) > 5.0, differences


# -- supplier purchase order --------------------------------------------------------------------

def _lines() -> pd.DataFrame:
    return pd.DataFrame({
        "supplier": "SUP-01", "sku": ["00123", "=HYPERLINK(\"x\")", "OLD-1"],
        "name": ["玻尿酸面膜", "=cmd|' /C calc'!A0", "停产款"],
        "order_date": pd.Timestamp("2026-11-01"), "qty": [480.0, 24.0, 12.0],
        "case_pack": [24, 12, 12], "expected_arrival": pd.Timestamp("2026-11-16"),
        "unit_cost": [21.41, 5.0, 3.0], "line_value": [10276.8, 120.0, 36.0],
        "on_hand": [190.0, 5.0, 0.0], "on_order": [0.0, 0.0, 0.0],
        "safety_stock": [300.0, 2.0, 1.0], "reorder_point": [500.0, 3.0, 1.0],
        "inventory_position": [190.0, 5.0, 0.0], "order_up_to": [700.0, 20.0, 5.0],
    })


def _forecast() -> pd.DataFrame:
    weeks = pd.date_range("2026-11-02", periods=20, freq="7D")
    return pd.DataFrame({
        "supplier": "SUP-01", "sku": np.repeat(["00123", "OLD-1"], 20),
        "week": np.tile(weeks, 2), "demand": 50.0, "qty": np.tile([0.0, 48.0] * 10, 2),
        "projected_on_hand": 100.0,
    })


def _products() -> pd.DataFrame:
    return pd.DataFrame({"sku": ["00123", "=HYPERLINK(\"x\")", "OLD-1"],
                         "supplier_sku": ["HZ-77", None, None],
                         "status": ["active", "active", "discontinued"]})


def test_purchase_order_has_no_internal_fields_and_no_discontinued_sku() -> None:
    options = PurchaseOrderSettings(ship_to="杭州仓")
    order = build_purchase_order("SUP-01", _lines(), _forecast(), as_of=date(2026, 11, 1),
                                 products=_products(), options=options)
    assert order.number == "PO-20261101-SUP-01"
    assert list(order.lines.columns) == list(ORDER_COLUMNS)
    assert order.lines["line"].tolist() == [1, 2]
    assert order.lines["sku"].tolist() == ["00123", "=HYPERLINK(\"x\")"]
    assert order.lines["supplier_sku"].tolist()[0] == "HZ-77"
    assert order.lines["cases"].tolist() == [20.0, 2.0]
    assert set(order.lines["ship_to"]) == {"杭州仓"}
    assert "OLD-1" not in set(order.forecast["sku"])
    assert order.forecast["week"].nunique() == 13
    assert not set(SHARED_COLUMNS) & set(order.lines.columns)
    shared = build_purchase_order(
        "SUP-01", _lines(), _forecast(), as_of=date(2026, 11, 1), products=_products(),
        options=PurchaseOrderSettings(share_stock_with=["SUP-01"]))
    assert set(SHARED_COLUMNS) <= set(shared.lines.columns)
    assert "projected_on_hand" in shared.forecast.columns


def test_po_number_of_a_code_that_does_not_fit_is_a_hash() -> None:
    number = po_number("杭州/美研", date(2026, 11, 1))
    assert re.fullmatch(r"PO-20261101-[0-9a-f]{6}", number)


def test_workbook_keeps_codes_as_text_and_formulas_inert(tmp_path: Path) -> None:
    files = write_purchase_orders({"SUP-01": _lines()}, {"SUP-01": _forecast()}, tmp_path,
                                  as_of=date(2026, 11, 1), products=_products(), lang=ZH)
    xlsx = files["purchase_orders/SUP-01"]
    assert xlsx.name == "SUP-01.xlsx" and files["orders/SUP-01"].name == "SUP-01.csv"
    book = python_calamine.CalamineWorkbook.from_path(str(xlsx))
    assert book.sheet_names == ["采购订单", "订单预测"]
    rows = book.get_sheet_by_index(0).to_python()
    header = rows[0]
    assert header[:3] == ["采购单号", "行号", "商品编码"]
    assert rows[1][0] == "PO-20261101-SUP-01" and rows[1][2] == "00123"
    assert rows[2][4] == "=cmd|' /C calc'!A0"  # a string cell, not a formula
    with zipfile.ZipFile(xlsx) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet
    csv_text = files["orders/SUP-01"].read_text(encoding="utf-8-sig")
    frame = pd.read_csv(io.StringIO(csv_text), dtype=str)
    assert frame["商品编码"].tolist() == ["00123", "'=HYPERLINK(\"x\")"]
    assert "on_hand" not in csv_text and "现有库存" not in csv_text


def test_a_rerun_writes_the_same_workbook_bytes(tmp_path: Path) -> None:
    """The supplier ledger compares file bytes: an unchanged order must not look revised."""
    def written(folder: Path) -> bytes:
        files = write_purchase_orders({"SUP-01": _lines()}, {"SUP-01": _forecast()}, folder,
                                      as_of=date(2026, 11, 1), products=_products(), lang=ZH)
        return files["purchase_orders/SUP-01"].read_bytes()

    first = written(tmp_path / "a")
    time.sleep(1.1)  # a creation time taken from the clock would differ now
    assert written(tmp_path / "b") == first
