"""The order book in the run store, on SQLite and PostgreSQL: proposals with stable ids,
decisions with who and when, edits checked, sends and replies recorded, every change an
event. (The PostgreSQL cases skip when no server answers; CI starts one.)"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from flows.storage.orderbook import LifecycleError, OrderBook
from flows.storage.store import RunStore

DAY = date(2025, 3, 2)
PO_IDS = {"S1": "PO-20250302-S1", "S2": "PO-20250302-S2"}


def _orders(**qty: float) -> pd.DataFrame:
    rows = [("S1", "A1", 120.0), ("S1", "A2", 42.0), ("S2", "B1", 30.0)]
    return pd.DataFrame({
        "supplier": [s for s, _, _ in rows], "sku": [k for _, k, _ in rows],
        "name": ["玫瑰精华液", "", "口红 #01"],
        "qty": [qty.get(k, q) for _, k, q in rows], "case_pack": [12.0, 6.0, 10.0],
        "unit_cost": [10.0, 5.0, 50.0], "order_date": pd.Timestamp("2025-03-03"),
        "expected_arrival": pd.Timestamp("2025-03-17"),
    })


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> RunStore:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'runs.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    opened = RunStore(url)
    request.addfinalizer(opened.close)
    return opened


def test_proposals_get_stable_ids_and_a_rerun_revises_only_untouched_lines(
        store: RunStore) -> None:
    book = OrderBook(store)
    ids = book.propose("plan-1", DAY, _orders(), PO_IDS)
    assert ids == ["PO-20250302-S1-001", "PO-20250302-S1-002", "PO-20250302-S2-001"]
    book.edit("PO-20250302-S1-001", "li", qty=132.0)
    book.decide(["PO-20250302-S2-001"], "approved", "wang")
    # The same day planned again: A2 grows, A1 (edited) and B1 (approved) keep their state,
    # A2 disappears then a new SKU takes the next number.
    again = book.propose("plan-2", DAY, _orders(A1=240.0, A2=54.0, B1=60.0), PO_IDS)
    lines = book.lines().set_index("line_id")
    assert lines.loc["PO-20250302-S1-001", ["qty", "proposed_qty"]].tolist() == [132.0, 120.0]
    assert lines.loc["PO-20250302-S1-002", "qty"] == 54.0
    assert lines.loc["PO-20250302-S2-001", ["status", "qty"]].tolist() == ["approved", 30.0]
    assert again == ["PO-20250302-S1-002"]
    extra = _orders().iloc[[0]].assign(sku="A9")
    book.propose("plan-3", DAY, extra, PO_IDS)
    lines = book.lines().set_index("line_id")
    assert lines.loc["PO-20250302-S1-003", ["sku", "status"]].tolist() == ["A9", "proposed"]
    assert lines.loc["PO-20250302-S1-002", "status"] == "withdrawn"


def test_decisions_sends_and_replies_are_recorded_with_who_and_when(store: RunStore) -> None:
    book = OrderBook(store)
    book.propose("plan-1", DAY, _orders(), PO_IDS,
                 auto={"B1": "trusted supplier S2"})
    book.decide(["PO-20250302-S1-001"], "approved", "li")
    book.decide(["PO-20250302-S1-002"], "rejected", "li")
    book.mark_sent(["PO-20250302-S1-001", "PO-20250302-S2-001"], "li", {"delivery": "written"})
    replies = pd.DataFrame({"line_id": ["PO-20250302-S1-001"], "confirmed_qty": [96.0],
                            "confirmed_date": [pd.Timestamp("2025-03-20")],
                            "status": ["partly_confirmed"]})
    book.record_replies(replies, "li", "reply.csv")
    lines = book.lines().set_index("line_id")
    a1 = lines.loc["PO-20250302-S1-001"]
    assert (a1["status"], a1["approved_by"], a1["confirmed_qty"]) == (
        "partly_confirmed", "li", 96.0)
    assert a1["confirmed_date"] == pd.Timestamp("2025-03-20")
    assert a1["sent_at"].tzinfo is not None and a1["approved_at"] <= a1["sent_at"]
    b1 = lines.loc["PO-20250302-S2-001"]
    assert (b1["status"], b1["approved_by"], b1["approval"]) == (
        "sent", "auto", "auto: trusted supplier S2")
    assert lines.loc["PO-20250302-S1-002", "status"] == "rejected"
    events = book.events(["PO-20250302-S1-001"])
    assert events["event"].tolist() == ["proposed", "approved", "sent", "partly_confirmed"]
    assert events["actor"].tolist() == ["plan", "li", "li", "li"]


def test_bad_edits_and_actions_on_sent_lines_are_refused(store: RunStore) -> None:
    book = OrderBook(store)
    book.propose("plan-1", DAY, _orders(), PO_IDS)
    with pytest.raises(LifecycleError, match="not a whole number of cases; expected a "
                                             "multiple of the case pack 12"):
        book.edit("PO-20250302-S1-001", "li", qty=125.0)
    with pytest.raises(LifecycleError, match="is not after the order's date 2025-03-02"):
        book.edit("PO-20250302-S1-001", "li", delivery=date(2025, 3, 1))
    book.decide(["PO-20250302-S1-001"], "approved", "li")
    book.mark_sent(["PO-20250302-S1-001"], "li", {})
    with pytest.raises(LifecycleError, match="PO-20250302-S1-001 is sent"):
        book.decide(["PO-20250302-S1-001"], "rejected", "li")
    with pytest.raises(LifecycleError, match="no purchase order line PO-X-001"):
        book.edit("PO-X-001", "li", qty=12.0)
    with pytest.raises(LifecycleError, match="expected lines that are approved"):
        book.mark_sent(["PO-20250302-S1-002"], "li", {})
    assert book.lines(line_ids=["PO-20250302-S1-001"])["qty"].tolist() == [120.0]


def test_a_new_days_plan_withdraws_the_lines_still_awaiting_approval(store: RunStore) -> None:
    book = OrderBook(store)
    book.propose("plan-1", DAY, _orders(), PO_IDS)
    book.decide(["PO-20250302-S2-001"], "approved", "li")
    book.propose("plan-2", date(2025, 3, 3), _orders(),
                 {"S1": "PO-20250303-S1", "S2": "PO-20250303-S2"})
    lines = book.lines().set_index("line_id")
    assert lines.loc[["PO-20250302-S1-001", "PO-20250302-S1-002"], "status"].tolist() == [
        "withdrawn", "withdrawn"]
    assert lines.loc["PO-20250302-S2-001", "status"] == "approved"
    assert (lines["as_of"] == pd.Timestamp("2025-03-03")).sum() == 3
