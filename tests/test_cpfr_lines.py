"""CPFR per purchase order line (replenishment.cpfr): replies matched per line, the open
lines a plan counts, receipts, and the exceptions both ways, on hand-made lines."""

from __future__ import annotations

import pandas as pd
import pytest

from replenishment.cpfr import (
    LINE_EXCEPTION_COLUMNS,
    lifecycle_open_orders,
    line_exceptions,
    match_replies,
    received_lines,
    reply_status,
)

AS_OF = pd.Timestamp("2025-03-09")
PO = "PO-20250302-S1"


def _lines() -> pd.DataFrame:
    """Four sent lines of one PO due 2025-03-17; answers are set per test."""
    return pd.DataFrame({
        "po_id": PO, "line_id": [f"{PO}-00{n}" for n in (1, 2, 3, 4)], "line_no": [1, 2, 3, 4],
        "supplier": "S1", "sku": ["A1", "A2", "A3", "A4"], "qty": [120.0, 60.0, 24.0, 36.0],
        "delivery_date": pd.Timestamp("2025-03-17"), "status": "sent",
        "sent_at": pd.Timestamp("2025-03-03T02:00", tz="UTC"),
        "confirmed_qty": float("nan"), "confirmed_date": pd.NaT,
    })


def _answer(lines: pd.DataFrame, line: int, qty: float, day: str | None = None) -> None:
    row = lines.index[lines["line_no"] == line][0]
    lines.loc[row, "confirmed_qty"] = qty
    lines.loc[row, "confirmed_date"] = pd.Timestamp(day) if day else pd.NaT
    lines.loc[row, "status"] = reply_status(pd.Series([lines.loc[row, "qty"]]),
                                            pd.Series([qty])).iloc[0]


def test_reply_status_reads_the_confirmed_quantity_against_the_order() -> None:
    assert reply_status(pd.Series([10.0, 10.0, 10.0, 10.0]),
                        pd.Series([10.0, 12.0, 4.0, 0.0])).tolist() == [
        "confirmed", "confirmed", "partly_confirmed", "declined"]


def test_a_reply_names_lines_by_id_by_po_and_number_or_by_po_and_sku() -> None:
    reply = pd.DataFrame({"po_number": [PO, PO, PO], "line": ["1", "", "3.0"],
                          "sku": ["", "A2", ""], "confirmed_qty": ["96", "60", ""],
                          "confirmed_date": ["2025-03-20", "", ""]})
    matched, problems = match_replies(_lines(), reply, "reply.csv")
    assert problems == []
    assert matched["line_id"].tolist() == [f"{PO}-001", f"{PO}-002"]  # line 3: unanswered
    assert matched["confirmed_qty"].tolist() == [96.0, 60.0]
    assert matched["status"].tolist() == ["partly_confirmed", "confirmed"]
    assert matched["confirmed_date"].iloc[0] == pd.Timestamp("2025-03-20")
    assert pd.isna(matched["confirmed_date"].iloc[1])


def test_every_problem_of_a_reply_is_named_with_its_row() -> None:
    lines = _lines()
    lines.loc[3, "status"] = "approved"
    reply = pd.DataFrame({"line_id": [f"{PO}-001", f"{PO}-001", "PO-X-001", f"{PO}-004"],
                          "confirmed_qty": ["10", "12", "5", "36"]})
    _, problems = match_replies(lines, reply, "reply.csv")
    assert [(p.row, p.value) for p in problems] == [
        (3, f"{PO}-001"), (4, "PO-X-001"), (5, f"{PO}-004")]
    assert "row 2 answers it already" in problems[0].expected
    assert "this one is approved" in problems[2].expected
    _, missing = match_replies(lines, pd.DataFrame({"sku": ["A1"], "confirmed_qty": ["1"]}),
                               "reply.csv")
    assert "po_number with line or sku" in missing[0].expected


def test_shortfalls_overs_and_slipped_dates_are_exceptions_with_po_line_week_and_gap() -> None:
    lines = _lines()
    _answer(lines, 1, 72.0)                 # 48 short
    _answer(lines, 2, 66.0, "2025-03-24")   # 6 over, 7 days late
    _answer(lines, 3, 0.0)                  # declined: 24 short
    out = line_exceptions(lines, pd.DataFrame(columns=["sku", "po_id"]), AS_OF,
                          unconfirmed_after_days=10)
    assert list(out.columns) == LINE_EXCEPTION_COLUMNS
    table = {(k, line[-1]): (g, u) for k, line, g, u in
             zip(out["kind"], out["line_id"], out["gap"], out["gap_unit"], strict=True)}
    assert table == {("po_short", "1"): (48.0, "units"), ("po_short", "3"): (24.0, "units"),
                     ("po_over", "2"): (6.0, "units"), ("po_date_slipped", "2"): (7.0, "days")}
    short = out[(out["kind"] == "po_short") & (out["sku"] == "A1")].iloc[0]
    assert (short["po_id"], short["supplier"], short["week"]) == (
        PO, "S1", pd.Timestamp("2025-03-17"))
    assert short["deviation"] == pytest.approx(0.4)
    assert short["message"] == (f"S1 confirmed 72 of the 120 units of A1 ordered on {PO} "
                                "line 1 (due 2025-03-17): 48 units short")
    # A tolerance of 10% lets the 6 over (10% of 60) pass, not the 48 short.
    tolerant = line_exceptions(lines, pd.DataFrame(), AS_OF, tolerance_share=0.1,
                               unconfirmed_after_days=10)
    assert "po_over" not in set(tolerant["kind"])


def test_a_line_unanswered_after_n_days_and_a_line_open_past_its_date() -> None:
    lines = _lines()
    _answer(lines, 1, 120.0, "2025-03-05")  # confirmed, due before the as-of date
    erp = pd.DataFrame({"sku": ["A1"], "po_id": [PO]})  # ... and still open in the ERP
    out = line_exceptions(lines, erp, AS_OF, unconfirmed_after_days=5)
    waiting = out[out["kind"] == "po_unconfirmed"]
    assert sorted(waiting["sku"]) == ["A2", "A3", "A4"]
    assert set(waiting["gap"]) == {6.0}  # sent on 2025-03-03
    late = out[out["kind"] == "po_late"].iloc[0]
    assert (late["sku"], late["gap"]) == ("A1", 4.0)
    assert line_exceptions(lines, erp, AS_OF, unconfirmed_after_days=6)[
        "kind"].tolist() == ["po_late"]


def test_open_lines_join_the_open_orders_at_their_confirmed_quantity_and_date() -> None:
    lines = _lines()
    _answer(lines, 1, 72.0, "2025-03-20")
    _answer(lines, 3, 0.0)
    lines.loc[3, "delivery_date"] = pd.Timestamp("2025-03-01")  # due: taken as received
    erp = pd.DataFrame({"sku": ["B1", "A2"], "supplier": ["S2", "S1"], "qty": [10.0, 60.0],
                        "eta": pd.to_datetime(["2025-03-12", "2025-03-17"]),
                        "po_id": ["ERP-1", PO]})
    merged = lifecycle_open_orders(lines, erp, AS_OF)
    added = merged.iloc[len(erp):]
    # A1 at its confirmed 72 on 2025-03-20; A2 is the ERP's already; A3 was declined; A4
    # is past its date and not listed by the ERP: received.
    assert added[["sku", "qty", "eta", "po_id"]].values.tolist() == [
        ["A1", 72.0, pd.Timestamp("2025-03-20"), PO]]
    assert received_lines(lines, erp, AS_OF) == [f"{PO}-004"]
    assert lifecycle_open_orders(lines.iloc[0:0], erp, AS_OF) is erp
