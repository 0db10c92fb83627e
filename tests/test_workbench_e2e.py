"""The workbench end to end in headless Chromium against the real server (`replenish ui` in
its own process, uvicorn on loopback): a plan runs, the planner sees its alerts and each
supplier's lines with their explanations, changes one quantity, approves one supplier and
sends it (dry run: the outbox then holds exactly that supplier's PO, with the changed
quantity); the supplier's reply confirms less; the next run shows the shortfall exception on
that line and orders around it.

Chromium is Debian's (/usr/bin/chromium) driven by Playwright; no browser is downloaded. Set
``REPLENISH_SCREENSHOTS=docs`` to write the pages' screenshots into ``docs/`` (they are
written to the test's folder otherwise, so taking them is tested too).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from test_lifecycle import NEXT, Brand, cli, machine_names, make_brand, sent_orders

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parent.parent

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"),
                                reason="Debian's chromium is not installed")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Brand, str]]:
    """The brand after its first plan, and the URL of `replenish ui` serving it."""
    brand = make_brand(tmp_path / "brand", locale="zh_CN")
    brand.plan()
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", "from flows.commands import main; raise SystemExit(main())",
         "ui", "--config", str(brand.config), "--port", str(port)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/", timeout=2) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read().decode() if process.stdout else ""
                    pytest.fail(f"replenish ui did not start: {output}")
                time.sleep(0.2)
        yield brand, url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def page() -> Iterator[object]:
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=ARGS,
                                         headless=True)
        try:
            yield browser.new_page(viewport={"width": 1500, "height": 1000})
        finally:
            browser.close()


def _shots(tmp_path: Path) -> Path:
    wanted = os.environ.get("REPLENISH_SCREENSHOTS")
    folder = (ROOT / wanted) if wanted else tmp_path / "shots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _reply_from_outbox(brand: Brand, line_id: str, short_by: int, folder: Path) -> Path:
    """The PO file as the supplier received it, with its answer filled in: every line
    confirmed in full, ``line_id`` ``short_by`` units short."""
    po = sent_orders(brand.outbox)["S1"]
    po["confirmed_qty"] = (po["qty"] - (po["line_id"] == line_id) * short_by).astype(int)
    po["confirmed_date"] = po["requested_delivery"]
    headers = {machine: header for header, machine in machine_names(brand.locale).items()}
    reply = folder / "S1-reply.csv"
    folder.mkdir(parents=True, exist_ok=True)
    po.rename(columns=headers).to_csv(reply, index=False, encoding="utf-8-sig")
    return reply


def test_review_edit_approve_send_confirm_and_the_next_run(
        server: tuple[Brand, str], page: object, tmp_path: Path) -> None:
    brand, url = server
    shots = _shots(tmp_path)
    p = page  # a playwright Page
    p.goto(url + "/")  # type: ignore[attr-defined]
    # Alerts by severity, and the suppliers with orders.
    alerts = p.locator("#alert-table tr")  # type: ignore[attr-defined]
    assert alerts.count() - 1 == len(pd.read_csv(brand.root / "out" / "alerts.csv"))
    assert "缺货风险" in p.inner_text("#alert-table")  # type: ignore[attr-defined]
    p.screenshot(path=str(shots / "workbench-overview.png"), full_page=True)  # type: ignore[attr-defined]
    p.click("#supplier-table a:text('S1')")  # type: ignore[attr-defined]

    # The lines with their explanation columns.
    s1 = brand.lines(supplier="S1").set_index("sku")
    a1 = str(s1.loc["A1", "line_id"])
    row = p.locator(f"#line-{a1}")  # type: ignore[attr-defined]
    headers = p.inner_text("#line-table tr >> nth=0")  # type: ignore[attr-defined]
    for label in ("到货时库存", "净需求", "整箱取整"):
        assert label in headers
    orders = pd.read_csv(brand.root / "out" / "orders.csv", dtype={"sku": str})
    need = orders.set_index("sku").loc["A1", "need"]
    assert f"{need:,.1f}".rstrip("0").rstrip(".") in row.inner_text()

    # Change one quantity (one more case of 12), approve the supplier, send.
    changed = int(s1.loc["A1", "qty"]) + 12
    row.locator("input[name=qty]").fill(str(changed))
    row.locator("button.save").click()
    assert f"{a1} 已由" in p.inner_text(".flash")  # type: ignore[attr-defined]
    assert "已修改" in row.inner_text()
    assert row.locator("input[name=qty]").input_value() == str(changed)
    p.click("#approve-supplier")  # type: ignore[attr-defined]
    assert set(brand.lines(supplier="S1")["status"]) == {"approved"}
    assert set(brand.lines(supplier="S2")["status"]) == {"proposed"}
    p.click("#send-supplier")  # type: ignore[attr-defined]
    sent = sent_orders(brand.outbox)
    assert list(sent) == ["S1"]
    assert sent["S1"].set_index("line_id").loc[a1, "qty"] == changed
    assert set(brand.lines(supplier="S1")["status"]) == {"sent"}
    p.screenshot(path=str(shots / "workbench-supplier.png"), full_page=True)  # type: ignore[attr-defined]

    # The supplier confirms 48 units less of that line, in the PO file it received.
    reply = _reply_from_outbox(brand, a1, 48, tmp_path)
    code, _, err = cli("confirm", "--config", str(brand.config), "--file", str(reply))
    assert code == 0, err

    # The next run: the shortfall on that line, and the plan ordering around it.
    brand.plan(NEXT)
    p.goto(url + "/supplier?name=S1")  # type: ignore[attr-defined]
    short = p.locator(f"#exception-table tr[data-kind=po_short][data-line='{a1}']")  # type: ignore[attr-defined]
    assert short.count() == 1
    assert "短缺 48 件" in short.inner_text()  # the sentence in the planner's language
    answer = p.inner_text(f"#answer-{a1}")  # type: ignore[attr-defined]
    assert "部分确认" in answer
    p.screenshot(path=str(shots / "workbench-confirmations.png"), full_page=True)  # type: ignore[attr-defined]
    replanned = pd.read_csv(brand.root / "out" / "orders.csv", dtype={"sku": str})
    assert _next_a1(replanned) >= _next_a1(_control(tmp_path)) + 36

    p.goto(url + "/?lang=en")  # type: ignore[attr-defined]
    assert "stockout risk" in p.inner_text("#alert-table")  # type: ignore[attr-defined]
    assert "confirmed short" in p.inner_text("#exceptions ~ p")  # type: ignore[attr-defined]
    # The sentences follow the page's language, whatever the run's.
    assert "48 units short" in p.inner_text("#exception-table")  # type: ignore[attr-defined]
    p.screenshot(path=str(shots / "workbench-overview-en.png"), full_page=True)  # type: ignore[attr-defined]


def _next_a1(orders: pd.DataFrame) -> float:
    table = orders.set_index("sku")
    return float(table.loc["A1", "qty"]) if "A1" in table.index else 0.0


def _control(tmp_path: Path) -> pd.DataFrame:
    """The same two runs with the line confirmed in full (on the command line)."""
    brand = make_brand(tmp_path / "control", locale="zh_CN")
    brand.plan()
    a1 = brand.lines(supplier="S1").set_index("sku").loc["A1"]
    line = str(a1["line_id"])
    assert cli("approve", "--config", str(brand.config), "--supplier", "S1",
               "--qty", f"{line}={int(a1['qty']) + 12}")[0] == 0
    assert cli("send", "--config", str(brand.config))[0] == 0
    reply = _reply_from_outbox(brand, line, 0, tmp_path / "control")
    assert cli("confirm", "--config", str(brand.config), "--file", str(reply))[0] == 0
    brand.plan(NEXT)
    orders = pd.read_csv(brand.root / "out" / "orders.csv", dtype={"sku": str})
    shutil.rmtree(brand.root / "store", ignore_errors=True)
    return orders
