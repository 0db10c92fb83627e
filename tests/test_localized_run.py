"""A planning run in the planner's language: under ``locale: zh_CN`` the alert sentences in
alerts.csv, the digest, the chat robot's message and the report, and the progress lines, are
Chinese; under ``en`` they stay English. The robots' secrets, valid or malformed, never reach
the run store (run records, notification ledger, stored outputs) or the output folder.

The runs are fast: the pipeline's forecast stage is replaced by hand-built demand paths
(:func:`planning_data.make_forecast`); everything else (validation, the plan, the store, the
files, the report and the notifications) is the real pipeline."""

from __future__ import annotations

import contextlib
import io
import json
import os
import string
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd
import pytest
import sqlalchemy as sa
from local_servers import HttpReceiver, http_receiver
from planning_data import AS_OF, PLAN_TABLES, make_forecast
from test_chat_platforms import SECRET, TOKEN, _dingtalk_check

from flows.config import Settings
from flows.i18n import language, localized_messages
from flows.pipeline.planning import PlanningOutcome, PlanOptions, Stages, run_planning
from flows.storage.store import RunStore
from forecasting.engine import ForecastResult
from replenishment.alerts import supplier_alerts
from replenishment.cpfr import commitment_exceptions
from replenishment.messages import MESSAGES, render

ZH = language("zh_CN")
# Not a usable signing secret: a colon, spaces and a broken percent-escape.
MALFORMED = "MALFORMED:sign key with spaces%zz"
_ENV = {"LOC_DT_SECRET": SECRET, "LOC_DT_TOKEN": TOKEN, "LOC_DT_BAD": MALFORMED}


def _tables() -> dict[str, str]:
    """The small planning brand, with a short S1 capacity (a cut and a build-ahead), a large
    B1 stock (overstock) and two sales days (the frequency can be inferred)."""
    return {
        **PLAN_TABLES,
        "sales": PLAN_TABLES["sales"] + "2025-02-27,A1,tmall,25,30\n2025-02-27,B1,jd,1,120\n",
        "inventory": "sku,on_hand\nA1,100\nA2,20\nB1,900\nOLD,0\n",
        "suppliers": ("supplier,lead_time_days,lead_time_std_days,review_days,min_order_value,"
                      "capacity_units_per_week\nS1,14,0,7,0,60\nS2,7,0,7,0,\n"),
    }


def _forecast(demand: Any, products: Any, config: Any, origin: Any, execution: Any = None,
              inventory: Any = None) -> ForecastResult:
    """The forecast stage, without fitting: negative binomial paths around fixed means."""
    made = make_forecast({"A1": 30.0, "A2": 2.0, "B1": 1.0}, horizon=config.horizon)
    empty = pd.DataFrame()
    return ForecastResult(made.channel, made.sku, made.scenarios, empty, empty, empty, "D",
                          AS_OF)


@dataclass
class Run:
    root: Path
    outcome: PlanningOutcome
    stderr: str
    receiver: HttpReceiver | None = None

    @property
    def alerts(self) -> pd.DataFrame:
        return pd.read_csv(self.outcome.out / "alerts.csv", encoding="utf-8-sig")

    def message(self, kind: str) -> str:
        return str(self.alerts.loc[self.alerts["kind"] == kind, "message"].iloc[0])


def _run(root: Path, locale: str, urls: list[str]) -> Run:
    data = root / "data"
    data.mkdir(parents=True)
    for name, text in _tables().items():
        (data / f"{name}.csv").write_text(text, encoding="utf-8")
    settings = Settings(
        brand="示例美妆", locale=locale, data={"folder": str(data)},
        store_url=f"sqlite:///{root / 'store' / 'runs.db'}", output_dir=str(root / "out"),
        notify={"backoff_s": 0, "attempts": 1,
                "teams": [{"name": "planners", "urls": ["digest://", *urls]}]},
    )
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        outcome = run_planning(settings, PlanOptions(as_of=str(AS_OF.date())),
                               Stages(forecast=_forecast))
    return Run(root, outcome, stderr.getvalue())


@pytest.fixture(scope="module")
def zh_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """A zh_CN run notifying a signed DingTalk robot (valid secret), one with a malformed
    secret, and the digest file."""
    with http_receiver() as receiver:
        receiver.reply = _dingtalk_check  # refuses the malformed secret's signature
        endpoint = f"?endpoint=http://{receiver.url}"
        urls = [f"dingtalk+native://${{LOC_DT_SECRET}}@${{LOC_DT_TOKEN}}/{endpoint}",
                f"dingtalk+native://${{LOC_DT_BAD}}@${{LOC_DT_TOKEN}}/{endpoint}"]
        os.environ.update(_ENV)
        try:
            run = _run(tmp_path_factory.mktemp("zh"), "zh_CN", urls)
        finally:
            for name in _ENV:
                os.environ.pop(name, None)
        run.receiver = receiver
        yield run


@pytest.fixture(scope="module")
def en_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _run(tmp_path_factory.mktemp("en"), "en", [])


def test_every_core_sentence_has_a_chinese_translation_with_the_same_fields() -> None:
    def fields(text: str) -> list[tuple[str, str]]:
        return sorted((name, spec or "") for _, name, spec, _ in string.Formatter().parse(text)
                      if name)

    for template in MESSAGES.values():
        translated = ZH.translations.gettext(template)
        assert translated != template or template == "none", template
        assert fields(translated) == fields(template), template


def test_a_supplier_shortfall_over_two_weeks_reads_as_one_chinese_sentence() -> None:
    weeks = pd.to_datetime(["2025-03-03", "2025-03-10"])
    forecast = pd.DataFrame({"supplier": "S1", "sku": "A1", "week": weeks, "qty": 100.0})
    committed = forecast.assign(qty=60.0)
    exceptions = commitment_exceptions(forecast, committed, 0.1)
    items = pd.DataFrame({"sku": ["A1"], "supplier": ["S1"], "category": ["skincare"],
                          "price": [30.0], "unit_cost": [10.0]})
    alert = supplier_alerts(exceptions, items)
    assert alert["message"].iloc[0] == (
        "commitment_shortfall: supplier S1 committed 60 units of A1 for the week of "
        "2025-03-03, 40% short of the 100 units forecast (tolerance 10%) (and 1 later week(s))")
    assert localized_messages(alert, ZH)["message"].iloc[0] == (
        "供应商承诺不足：供应商 S1 对 A1 在 2025-03-03 当周只承诺供货 60 件，比订单预测的 100 件"
        "少 40%（容差 10%）（之后还有 1 周）")
    assert localized_messages(exceptions, ZH)["message"].iloc[1].startswith(
        "供应商 S1 对 A1 在 2025-03-10 当周只承诺供货 60 件")


def test_a_chinese_run_writes_chinese_alert_sentences(zh_run: Run) -> None:
    alerts = zh_run.alerts
    assert {"stockout_risk", "overstock", "capacity_bound", "unplanned"} <= set(alerts["kind"])
    assert "断货" in zh_run.message("stockout_risk")
    assert "现有库存 100 件" in zh_run.message("stockout_risk")
    assert "存在积压" in zh_run.message("overstock")
    assert zh_run.message("capacity_bound").startswith("S1 供应商产能不足：A1 目标需要")
    assert "未纳入补货计划" in zh_run.message("unplanned")
    assert not alerts["message"].str.contains("chance of running out|units above|binds at").any()
    # The id and parameters a program can read, whatever the language.
    row = alerts[alerts["kind"] == "stockout_risk"].iloc[0]
    assert row["message_id"] == "stockout_risk"
    assert json.loads(row["message_params"])["on_hand"] == 100.0


def test_the_digest_the_robot_and_the_report_show_the_chinese_sentence(zh_run: Run) -> None:
    cut = zh_run.message("capacity_bound")
    digest = (zh_run.outcome.out / "digest-planners.md").read_text(encoding="utf-8")
    assert cut in digest
    assert f"：{cut}" in digest  # a full-width colon before the sentence, as Chinese writes it
    assert zh_run.receiver is not None
    sent = [r.json()["markdown"]["text"] for r in zh_run.receiver.requests if "sign=" in r.path]
    assert sent and any("供应商产能不足" in text for text in sent)
    report = (zh_run.outcome.out / "report.html").read_text(encoding="utf-8")
    assert "供应商产能不足" in report and "binds at" not in report


def test_the_run_store_keeps_the_chinese_sentences(zh_run: Run) -> None:
    with RunStore(f"sqlite:///{zh_run.root / 'store' / 'runs.db'}") as store:
        stored = store.load_output(zh_run.outcome.run_id, "alerts")
    assert stored is not None
    assert stored["message"].str.contains("供应商产能不足").any()


def test_progress_lines_follow_the_locale(zh_run: Run, en_run: Run) -> None:
    assert "[1/8] 读取数据表 ..." in zh_run.stderr
    assert "[5/8] 计算订单、订单预测和预警 完成，用时" in zh_run.stderr
    assert "预测未来" in zh_run.stderr and "pulling tables" not in zh_run.stderr
    assert "[1/8] pulling tables ..." in en_run.stderr
    assert "[5/8] planning orders, order forecasts and alerts done in" in en_run.stderr


def test_an_english_run_stays_english(en_run: Run) -> None:
    stockout = en_run.message("stockout_risk")
    assert "chance of running out before" in stockout and "(on hand 100)" in stockout
    assert "binds at S1" in en_run.message("capacity_bound")
    assert not en_run.alerts["message"].str.contains("[\u4e00-\u9fff]").any()
    # The English sentence is the core's own, rebuilt from the id and parameters.
    row = en_run.alerts.iloc[0]
    assert render(row["message_id"], json.loads(row["message_params"])) == row["message"]


def _forms(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote(secret)} | {
        part for part in secret.replace(":", " ").split() if len(part) >= 6}


def _store_text(path: Path, run_id: str) -> str:
    """Every row of every table of the SQLite store, and every stored output as CSV."""
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            tables = sa.inspect(connection).get_table_names()
            rows = [repr(row) for table in tables for row in connection.execute(
                sa.text(f'SELECT * FROM "{table}"'))]
    finally:
        engine.dispose()
    with RunStore(f"sqlite:///{path}") as store:
        outputs = [frame.to_csv() for name in store.output_names(run_id)
                   if (frame := store.load_output(run_id, name)) is not None]
    return "\n".join(rows + outputs)


def test_secrets_valid_or_malformed_never_reach_the_run_store(zh_run: Run) -> None:
    store = zh_run.root / "store" / "runs.db"
    assert zh_run.receiver is not None
    assert any("sign=" in r.path for r in zh_run.receiver.requests)  # the valid robot was sent
    results = {r.target: r.status for r in zh_run.outcome.notices.digests}
    assert sorted(results.values()) == ["failed", "sent", "written"], results
    with RunStore(f"sqlite:///{store}") as opened:
        sent = opened.sent_notifications(
            "planners|dingtalk+native://${LOC_DT_SECRET}@${LOC_DT_TOKEN}/"
            f"?endpoint=http://{zh_run.receiver.url}")
    assert sent  # the ledger holds what was sent, under the target's label
    raw = b"".join(p.read_bytes() for p in store.parent.iterdir() if p.is_file())
    rows = _store_text(store, zh_run.outcome.run_id)
    for stored in (raw, rows.encode()):  # the ledger rows are there, by label
        assert b"planners|dingtalk+native://${LOC_DT_SECRET}@${LOC_DT_TOKEN}" in stored
    files = " ".join(p.read_text(encoding="utf-8", errors="replace")
                     for p in zh_run.outcome.out.rglob("*") if p.is_file())
    shown = " ".join(f"{r.target} {r.message}" for r in zh_run.outcome.notices.digests)
    for secret in (SECRET, TOKEN, MALFORMED):
        for form in _forms(secret):
            assert form.encode() not in raw, form
            for haystack in (rows, files, shown, zh_run.stderr):
                assert form not in haystack, form


def test_a_short_forecast_horizon_is_warned_in_the_planners_language() -> None:
    from flows.i18n import language
    from flows.pipeline.stages import SHORT_HORIZON

    fields = {"horizon": 28, "needed": 140, "weeks": 13}
    chinese = language("zh_CN").gettext(SHORT_HORIZON, **fields)
    english = language("en").gettext(SHORT_HORIZON, **fields)
    assert "提醒" in chinese and "140" in chinese and "forecast.horizon" in chinese
    assert english.startswith("warning: forecast.horizon is 28 days but planning needs 140")
