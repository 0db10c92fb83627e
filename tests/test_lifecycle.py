"""The order lifecycle end to end, without a browser: a plan run proposes its lines into the
order book, nothing reaches a supplier unless approved (auto-approval off and on), `replenish
approve / send / confirm` on the command line, and the next run re-plans around a shortfall.

The runs are the real pipeline (validation, plan, run store, files, report, notifications,
supplier e-mail in dry run) with the forecast stage replaced by hand-built demand paths
(:func:`planning_data.make_forecast`), so a run takes a few seconds.
"""

from __future__ import annotations

import contextlib
import email
import io
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from planning_data import AS_OF, PLAN_TABLES, make_forecast

from flows.commands.main import main
from flows.config import Settings, load_settings
from flows.i18n import language
from flows.outbound.purchase_order import ORDER_COLUMNS
from flows.pipeline.planning import PlanningOutcome, PlanOptions, Stages, run_planning
from flows.storage.orderbook import OrderBook
from flows.storage.store import RunStore
from flows.storage.store_tables import po_lines
from forecasting.engine import ForecastResult

NEXT = AS_OF + pd.Timedelta(days=7)
MEANS = {"A1": 30.0, "A2": 4.0, "B1": 3.0}


def brand_tables(through: pd.Timestamp = AS_OF) -> dict[str, str]:
    """The small planning brand with supplier e-mail addresses; sales every day until
    ``through`` (the newest sales date is the run's default as-of date)."""
    days = pd.date_range("2025-02-20", through, freq="D")
    sales = "".join(f"{d.date()},A1,tmall,25,30\n{d.date()},A2,tmall,4,12\n"
                    f"{d.date()},B1,jd,3,120\n" for d in days)
    return {
        **PLAN_TABLES,
        "sales": "date,sku,channel,units,price\n" + sales,
        "suppliers": ("supplier,lead_time_days,lead_time_std_days,review_days,min_order_value,"
                      "name,email\nS1,14,0,7,0,上海供应商,s1@example.cn\n"
                      "S2,7,0,7,0,Guangzhou Co,s2@example.cn\n"),
        "open_orders": "sku,supplier,qty,eta\n",
    }


def write_brand(folder: Path, through: pd.Timestamp = AS_OF) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in brand_tables(through).items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")


def fake_forecast(demand: Any, products: Any, config: Any, origin: Any, execution: Any = None,
                  inventory: Any = None) -> ForecastResult:
    """The forecast stage without fitting: negative binomial paths around fixed means."""
    start = pd.Timestamp(origin) + pd.Timedelta(days=1)
    made = make_forecast(MEANS, horizon=config.horizon, start=start)
    empty = pd.DataFrame()
    return ForecastResult(made.channel, made.sku, made.scenarios, empty, empty, empty, "D",
                          pd.Timestamp(origin))


@dataclass
class Brand:
    """A brand's folder: its data, config file, store and outputs."""

    root: Path
    approval: dict[str, Any]
    locale: str = "en"

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def outbox(self) -> Path:
        return self.root / "out" / "outbox"

    def write_config(self) -> None:
        document = {
            "brand": "示例美妆", "locale": self.locale, "calendar": "off",
            "data": {"folder": str(self.root / "data")},
            "store_url": f"sqlite:///{self.root / 'store' / 'runs.db'}",
            "output_dir": str(self.root / "out"),
            "notify": {"attempts": 1, "backoff_s": 0,
                       "teams": [{"name": "planners", "urls": ["digest://"]}],
                       "supplier_mail": {"enabled": True, "dry_run": True,
                                         "sender": "planning@example.cn"}},
            "approval": self.approval,
        }
        self.config.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")

    @property
    def settings(self) -> Settings:
        return load_settings(self.config)

    def plan(self, as_of: pd.Timestamp = AS_OF) -> PlanningOutcome:
        write_brand(self.root / "data", as_of)
        with contextlib.redirect_stderr(io.StringIO()):
            return run_planning(self.settings, PlanOptions(as_of=str(as_of.date()), quiet=True),
                                Stages(forecast=fake_forecast))

    def lines(self, **query: Any) -> pd.DataFrame:
        with RunStore(self.settings.store_url) as store:
            return OrderBook(store).lines(**query)

    def output(self, run_id: str, name: str) -> pd.DataFrame:
        with RunStore(self.settings.store_url) as store:
            frame = store.load_output(run_id, name)
        assert frame is not None, name
        return frame


def make_brand(root: Path, approval: dict[str, Any] | None = None, locale: str = "en") -> Brand:
    brand = Brand(root, approval or {}, locale)
    write_brand(root / "data")
    brand.write_config()
    return brand


def machine_names(locale: str) -> dict[str, str]:
    """A supplier file's headers in ``locale`` -> the machine column names."""
    translations = language(locale).translations
    columns = (*ORDER_COLUMNS, "line_id", "confirmed_qty", "confirmed_date")
    return {translations.pgettext("column", c): c for c in columns}


def sent_orders(outbox: Path) -> dict[str, pd.DataFrame]:
    """Supplier -> the order CSV attached to its message in the outbox (machine column
    names, whatever the language of its headers)."""
    names = {**machine_names("zh_CN"), **machine_names("en")}
    found: dict[str, pd.DataFrame] = {}
    for path in sorted(outbox.glob("*.eml")) if outbox.exists() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        for part in message.iter_attachments():  # type: ignore[attr-defined]
            if part.get_filename().endswith(".csv"):
                text = part.get_payload(decode=True).decode("utf-8-sig")
                frame = pd.read_csv(io.StringIO(text), dtype=str)
                frame = frame.rename(columns=names)
                frame["qty"] = frame["qty"].astype(float)
                found[path.stem] = frame
    return found


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def brand(tmp_path: Path) -> Brand:
    return make_brand(tmp_path)


# --- nothing unapproved reaches a supplier ---------------------------------------------------


def test_without_auto_approval_a_run_sends_nothing_and_proposes_every_line(brand: Brand) -> None:
    outcome = brand.plan()
    lines = brand.lines()
    orders = pd.read_csv(outcome.out / "orders.csv", dtype={"sku": str})
    assert len(lines) == len(orders) > 0
    assert set(lines["status"]) == {"proposed"}
    assert set(lines["line_id"]) == {f"PO-20250302-{s}-{n:03d}" for s, n in
                                     zip(lines["supplier"], lines["line_no"], strict=True)}
    assert sent_orders(brand.outbox) == {}
    assert [r.status for r in outcome.notices.suppliers] == []
    code, out, _ = cli("approve", "--config", str(brand.config))  # no selection: a listing
    assert code == 0 and f"Lines awaiting approval: {len(lines)}" in out
    assert all(line in out for line in lines["line_id"])
    assert set(brand.lines()["status"]) == {"proposed"}


def test_only_the_approved_supplier_receives_its_po_with_the_edited_quantity(
        brand: Brand) -> None:
    brand.plan()
    a1 = brand.lines(supplier="S1").set_index("sku").loc["A1"]
    edited = int(a1["qty"]) + 12  # one more case of 12
    code, out, err = cli("approve", "--config", str(brand.config), "--supplier", "S1",
                         "--qty", f"{a1['line_id']}={edited}", "--by", "li.planner")
    assert (code, err) == (0, ""), err
    assert "approved by li.planner" in out
    assert sent_orders(brand.outbox) == {}  # approved is not sent
    code, out, err = cli("send", "--config", str(brand.config), "--by", "li.planner")
    assert code == 0, err
    sent = sent_orders(brand.outbox)
    assert list(sent) == ["S1"]
    po = sent["S1"].set_index("sku")
    assert po.loc["A1", "qty"] == edited
    assert po.loc["A1", "line_id"] == a1["line_id"]
    lines = brand.lines().set_index("line_id")
    assert set(lines.loc[lines["supplier"] == "S1", "status"]) == {"sent"}
    assert set(lines.loc[lines["supplier"] == "S2", "status"]) == {"proposed"}
    assert lines.loc[a1["line_id"], "approved_by"] == "li.planner"
    assert lines.loc[a1["line_id"], "proposed_qty"] == a1["proposed_qty"]


def test_a_rejected_line_is_never_sent(brand: Brand) -> None:
    brand.plan()
    s1 = brand.lines(supplier="S1").set_index("sku")
    assert cli("approve", "--config", str(brand.config), "--supplier", "S1")[0] == 0
    code, _, err = cli("approve", "--config", str(brand.config), "--reject",
                       "--line", str(s1.loc["A2", "line_id"]))
    assert code == 0, err
    assert cli("send", "--config", str(brand.config))[0] == 0
    assert set(sent_orders(brand.outbox)["S1"]["sku"]) == set(s1.index) - {"A2"}


def test_with_auto_approval_only_the_lines_its_rules_approve_are_sent(tmp_path: Path) -> None:
    brand = make_brand(tmp_path, {"trusted_suppliers": ["S2"]})
    outcome = brand.plan()
    lines = brand.lines()
    auto = lines[lines["status"] == "sent"]
    assert set(auto["supplier"]) == {"S2"}
    assert set(lines.loc[lines["supplier"] == "S1", "status"]) == {"proposed"}
    sent = sent_orders(brand.outbox)
    assert list(sent) == ["S2"]
    assert sorted(sent["S2"]["sku"]) == sorted(auto["sku"])
    assert [r.status for r in outcome.notices.suppliers] == ["written"]
    assert set(auto["approval"]) == {"auto: trusted supplier S2"}


def test_auto_approval_by_amount_sends_only_the_small_lines(tmp_path: Path) -> None:
    probe = make_brand(tmp_path / "probe")
    probe.plan()
    values = (probe.lines()["qty"] * probe.lines()["unit_cost"]).sort_values()
    limit = float(values.iloc[len(values) // 2]) + 0.01  # about half the lines are below
    brand = make_brand(tmp_path / "brand", {"auto_approve_below": limit})
    brand.plan()
    lines = brand.lines()
    small = lines["qty"] * lines["unit_cost"] < limit
    assert set(lines.loc[small, "status"]) == {"sent"}
    assert set(lines.loc[~small, "status"]) == {"proposed"}
    sent = pd.concat(sent_orders(brand.outbox).values())
    assert sorted(sent["line_id"]) == sorted(lines.loc[small, "line_id"])


def test_send_refuses_while_supplier_mail_is_off(brand: Brand) -> None:
    brand.plan()
    document = yaml.safe_load(brand.config.read_text(encoding="utf-8"))
    document["notify"]["supplier_mail"]["enabled"] = False
    brand.config.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    assert cli("approve", "--config", str(brand.config), "--all")[0] == 0
    code, _, err = cli("send", "--config", str(brand.config))
    assert code == 2 and "supplier e-mail is off" in err and "Traceback" not in err
    assert set(brand.lines()["status"]) == {"approved"}


# --- the command line's errors -----------------------------------------------------------------


def test_an_edit_that_is_not_whole_cases_is_refused_with_exit_2(brand: Brand) -> None:
    brand.plan()
    a1 = brand.lines(supplier="S1").set_index("sku").loc["A1"]
    code, _, err = cli("approve", "--config", str(brand.config),
                       "--qty", f"{a1['line_id']}=13")
    assert code == 2
    assert f"line {a1['line_id']}: quantity 13 is not a whole number of cases" in err
    assert "multiple of the case pack 12" in err and "Traceback" not in err
    assert brand.lines(line_ids=[a1["line_id"]])["qty"].iloc[0] == a1["qty"]


def test_approving_an_unknown_or_sent_line_is_refused(brand: Brand) -> None:
    brand.plan()
    code, _, err = cli("approve", "--config", str(brand.config), "--line", "PO-1-X-001")
    assert code == 2 and "no purchase order line PO-1-X-001" in err
    assert cli("approve", "--config", str(brand.config), "--supplier", "S2")[0] == 0
    assert cli("send", "--config", str(brand.config))[0] == 0
    line = brand.lines(supplier="S2")["line_id"].iloc[0]
    code, _, err = cli("approve", "--config", str(brand.config), "--reject", "--line", line)
    assert code == 2 and f"{line} is sent" in err


def test_a_bad_reply_names_file_row_column_and_expectation_and_records_nothing(
        brand: Brand, tmp_path: Path) -> None:
    brand.plan()
    assert cli("approve", "--config", str(brand.config), "--supplier", "S1")[0] == 0
    assert cli("send", "--config", str(brand.config))[0] == 0
    line = brand.lines(supplier="S1")["line_id"].iloc[0]
    proposed = brand.lines(supplier="S2")["line_id"].iloc[0]
    reply = tmp_path / "reply.csv"
    reply.write_text("line_id,confirmed_qty,confirmed_date\n"
                     f"{line},many,2025-03-20\n{proposed},10,\nPO-9-Z-001,5,\n"
                     f"{line},12,20.03.2025\n", encoding="utf-8")
    code, _, err = cli("confirm", "--config", str(brand.config), "--file", str(reply))
    assert code == 2 and "Traceback" not in err
    assert "reply.csv, row 2, column 'confirmed_qty': got 'many'; expected a number" in err
    assert "reply.csv, row 5, column 'confirmed_date': got '20.03.2025'; expected a date " \
           "YYYY-MM-DD" in err
    assert set(brand.lines()["confirmed_qty"].dropna()) == set()


def test_an_unsent_or_unknown_line_in_a_reply_is_named(brand: Brand, tmp_path: Path) -> None:
    brand.plan()
    proposed = brand.lines(supplier="S2")["line_id"].iloc[0]
    reply = tmp_path / "reply.csv"
    reply.write_text(f"line_id,confirmed_qty\n{proposed},10\nPO-9-Z-001,5\n", encoding="utf-8")
    code, _, err = cli("confirm", "--config", str(brand.config), "--file", str(reply))
    assert code == 2
    assert f"row 2: got '{proposed}'; expected a line that was sent to the supplier " \
           "(this one is proposed)" in err
    assert "row 3: got 'PO-9-Z-001'; expected a line of a purchase order in the run store" in err


# --- replies, exceptions and the next run ---------------------------------------------------------


def _send_s1(brand: Brand) -> pd.DataFrame:
    brand.plan()
    assert cli("approve", "--config", str(brand.config), "--supplier", "S1")[0] == 0
    assert cli("send", "--config", str(brand.config))[0] == 0
    return brand.lines(supplier="S1").set_index("sku")


def _confirm(brand: Brand, reply: Path, text: str) -> str:
    reply.write_text(text, encoding="utf-8")
    code, out, err = cli("confirm", "--config", str(brand.config), "--file", str(reply))
    assert code == 0, err
    return out


@pytest.fixture
def replied(tmp_path: Path) -> Iterator[tuple[Brand, pd.DataFrame]]:
    """S1's PO sent and answered: A1 confirmed 48 units short, a week late."""
    brand = make_brand(tmp_path / "brand")
    s1 = _send_s1(brand)
    a1 = s1.loc["A1"]
    slipped = (a1["delivery_date"] + pd.Timedelta(days=7)).date()
    # The PO file as sent, filled in by the supplier: Chinese headers are read the same.
    out = _confirm(brand, tmp_path / "回复.csv",
                   "采购单号,行号,商品编码,确认数量,确认交期\n"
                   f"{a1['po_id']},{int(a1['line_no'])},A1,{int(a1['qty']) - 48},{slipped}\n")
    assert "1 line(s) answered" in out
    yield brand, s1


def test_a_reply_is_matched_per_line_and_sets_its_status(
        replied: tuple[Brand, pd.DataFrame]) -> None:
    brand, s1 = replied
    lines = brand.lines(supplier="S1").set_index("sku")
    assert lines.loc["A1", "status"] == "partly_confirmed"
    assert lines.loc["A1", "confirmed_qty"] == s1.loc["A1", "qty"] - 48
    assert lines.loc["A2", "status"] == "sent"  # not answered yet


def test_the_next_run_shows_the_shortfall_on_that_line_and_replans_around_it(
        replied: tuple[Brand, pd.DataFrame], tmp_path: Path) -> None:
    brand, s1 = replied
    outcome = brand.plan(NEXT)
    exceptions = brand.output(outcome.run_id, "order_exceptions").set_index("kind")
    short = exceptions.loc[["po_short"]]
    assert short["line_id"].tolist() == [s1.loc["A1", "line_id"]]
    assert short["gap"].tolist() == [48.0]
    assert short["po_id"].tolist() == [s1.loc["A1", "po_id"]]
    assert exceptions.loc["po_date_slipped", "gap"] == 7.0
    assert (outcome.out / "orders.csv").exists()
    # The same next run with the line confirmed in full orders less A1: the plan counted
    # the confirmed quantity, not the ordered one.
    full = make_brand(tmp_path / "full")
    s1_full = _send_s1(full)
    a1 = s1_full.loc["A1"]
    late = (a1["delivery_date"] + pd.Timedelta(days=7)).date()
    _confirm(full, tmp_path / "full.csv", "line_id,confirmed_qty,confirmed_date\n"
             f"{a1['line_id']},{int(a1['qty'])},{late}\n")
    full_run = full.plan(NEXT)

    def next_a1(run: PlanningOutcome) -> float:
        orders = pd.read_csv(run.out / "orders.csv", dtype={"sku": str}).set_index("sku")
        return float(orders.loc["A1", "qty"]) if "A1" in orders.index else 0.0

    assert next_a1(outcome) >= next_a1(full_run) + 36  # the 48 short, in whole cases of 12
    assert "po_short" not in set(full.output(full_run.run_id, "order_exceptions")["kind"])


def test_a_sent_line_unanswered_for_too_long_is_an_exception(tmp_path: Path) -> None:
    brand = make_brand(tmp_path, {"unconfirmed_after_days": 3})
    _send_s1(brand)
    with RunStore(brand.settings.store_url) as store, store.engine.begin() as connection:
        # Sent the morning after the plan (the test's dates are in the past).
        connection.execute(po_lines.update().values(sent_at=pd.Timestamp(
            "2025-03-03T02:00", tz="UTC").to_pydatetime()))
    outcome = brand.plan(NEXT)
    kinds = brand.output(outcome.run_id, "order_exceptions")
    waiting = kinds[kinds["kind"] == "po_unconfirmed"]
    assert set(waiting["supplier"]) == {"S1"}
    assert len(waiting) == len(brand.lines(supplier="S1", statuses=["sent"]))
    assert set(waiting["gap"]) == {6.0}  # sent on 2025-03-03, planned again on 2025-03-09
    assert waiting["message"].str.contains("has not confirmed").all()


def test_a_new_days_plan_withdraws_yesterdays_unapproved_proposals(brand: Brand) -> None:
    brand.plan()
    brand.plan(NEXT)
    lines = brand.lines()
    old = lines[lines["as_of"] == AS_OF]
    assert set(old["status"]) == {"withdrawn"}
    assert set(lines.loc[lines["as_of"] == NEXT, "status"]) == {"proposed"}


def test_a_rerun_of_the_same_day_keeps_the_planners_edits_and_decisions(brand: Brand) -> None:
    brand.plan()
    s1 = brand.lines(supplier="S1").set_index("sku")
    line = str(s1.loc["A1", "line_id"])
    assert cli("approve", "--config", str(brand.config), "--line", line,
               "--qty", f"{line}={int(s1.loc['A1', 'qty']) + 12}")[0] == 0
    brand.plan()
    again = brand.lines().set_index("line_id")
    assert again.loc[line, "status"] == "approved"
    assert again.loc[line, "qty"] == s1.loc["A1", "qty"] + 12
    assert len(again) == len(s1) + len(brand.lines(supplier="S2"))
