"""What the workbench pages show, read from the run store: the plan of the latest run that
proposed orders, its alerts, each supplier's PO lines with their explanations, the order
forecast, the confirmations and exceptions, and the change since the previous run.

Decisions:

* "Today's plan" is the latest plan run that recorded its order lines in the order book (a
  what-if or a ``--no-notify`` run proposes nothing: it is a question, not a plan to act on).
* A line's explanation is the run's own order line (``orders`` output: coverage window,
  demand before arrival, stock at arrival, need, case rounding, MOQ and minimum-value lifts,
  build-ahead, cut), joined on supplier and SKU; the order book adds its status, edits and
  the supplier's answer.
* The change since the previous run compares this run's proposed quantity per supplier and
  SKU with the latest earlier plan's (``orders`` output); a SKU absent from one side counts 0.
* With channel stock pools a line is a (SKU, warehouse): the explanation and the previous
  run's quantity are joined on both (a SKU shipped to 京东FBP仓 and to 菜鸟仓 is two lines,
  never four); the pages show the warehouse of lines and alerts when the plan has pools,
  and the overview lists the transfers between pools the run proposed (``transfers``).
* The comparison page sets today's order lines against another plan run of the store that
  kept its order lines (``orders`` output): a what-if (``--overrides``, ``--budget``,
  ``--lead-time``: recorded as a plan run that proposes nothing) or an earlier day's plan;
  by default the newest such run other than today's. Lines are matched on supplier, SKU
  and warehouse; only lines whose quantity differs are listed (added, removed, changed),
  largest value change first, with the totals of both runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from flows.storage.orderbook import OrderBook, ship_to
from flows.storage.store import RunRecord, RunStore
from replenishment.cpfr import LINE_EXCEPTION_COLUMNS

__all__ = [
    "DIFF_COLUMNS",
    "EXPLANATION_COLUMNS",
    "SEVERITY_ORDER",
    "ComparePage",
    "Overview",
    "SupplierPage",
    "compare_page",
    "current_run",
    "order_diff",
    "overview",
    "supplier_page",
]

SEVERITY_ORDER = ("critical", "high", "medium", "low")
# The explanation shown for each line, in the order a planner reads it.
EXPLANATION_COLUMNS = (
    "coverage_start", "coverage_end", "demand_before_arrival", "stock_at_arrival",
    "receipts_in_window", "protection_demand", "safety_stock", "need", "build_ahead",
    "case_rounding", "moq_lift", "min_value_lift", "cut", "cut_reason",
)
_ALERT_LIMIT = 200
# One row per order line that differs between two runs (``warehouse`` '' without pools).
DIFF_COLUMNS = ["supplier", "sku", "warehouse", "status", "qty", "other_qty", "change",
                "value", "other_value", "value_change"]
_CANDIDATES = 50  # plan runs looked at for the comparison page


@dataclass(frozen=True)
class Overview:
    """The first page: the run, alerts by severity, suppliers, exceptions, changes."""

    run: RunRecord | None
    alerts: pd.DataFrame = field(default_factory=pd.DataFrame)
    severity_counts: dict[str, int] = field(default_factory=dict)
    suppliers: pd.DataFrame = field(default_factory=pd.DataFrame)
    exceptions: pd.DataFrame = field(default_factory=pd.DataFrame)
    exception_counts: dict[str, int] = field(default_factory=dict)
    previous: RunRecord | None = None
    transfers: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def pooled(self) -> bool:
        """Whether the plan has stock pools (its alerts name their warehouse)."""
        return "warehouse" in self.alerts.columns


@dataclass(frozen=True)
class SupplierPage:
    """One supplier: its PO lines of this run, confirmations, exceptions, order forecast."""

    supplier: str
    run: RunRecord
    lines: pd.DataFrame
    answers: pd.DataFrame
    exceptions: pd.DataFrame
    forecast: pd.DataFrame
    previous: RunRecord | None

    @property
    def pooled(self) -> bool:
        """Whether a line of the page ships to a stock pool's warehouse."""
        return "warehouse" in self.lines and bool(self.lines["warehouse"].notna().any())


def current_run(store: RunStore) -> RunRecord | None:
    """The latest plan run whose order lines are in the order book."""
    runs = store.list_runs("plan", limit=50)
    for run_id, status, outputs in zip(runs["run_id"], runs["status"], runs["outputs"],
                                       strict=True):
        if status == "succeeded" and "po_suppliers" in str(outputs).split(", "):
            return store.get_run(str(run_id))
    return None


def _previous(store: RunStore, run: RunRecord) -> RunRecord | None:
    return store.latest_run("plan", before_as_of=run.as_of, exclude_run_id=run.run_id)


def _output(store: RunStore, run: RunRecord | None, name: str) -> pd.DataFrame:
    frame = store.load_output(run.run_id, name) if run is not None else None
    return frame if frame is not None else pd.DataFrame()


def _sorted_alerts(alerts: pd.DataFrame) -> pd.DataFrame:
    if alerts.empty:
        return alerts
    rank = {s: i for i, s in enumerate(SEVERITY_ORDER)}
    order = alerts["severity"].map(rank).fillna(len(rank))
    value = alerts.get("value_at_risk", 0.0)
    return (alerts.assign(_rank=order, _value=value)
            .sort_values(["_rank", "_value"], ascending=[True, False], kind="stable")
            .drop(columns=["_rank", "_value"]).reset_index(drop=True))


def _supplier_rows(book_lines: pd.DataFrame, orders: pd.DataFrame,
                   previous: pd.DataFrame) -> pd.DataFrame:
    """Per supplier of this run: lines, value, lines per status, value of the previous run."""
    if orders.empty:
        return pd.DataFrame(columns=["supplier", "lines", "value", "previous_value"])
    value = orders.groupby("supplier")["line_value"].sum()
    before = (previous.groupby("supplier")["line_value"].sum() if not previous.empty
              else pd.Series(dtype=float))
    table = pd.DataFrame({"lines": orders.groupby("supplier").size(), "value": value})
    table["previous_value"] = before.reindex(table.index).fillna(0.0)
    counts = book_lines.groupby(["supplier", "status"]).size().unstack(fill_value=0)
    table = table.join(counts, how="left").fillna(0)
    return table.reset_index(names="supplier")


def overview(store: RunStore) -> Overview:
    """The first page's content (an empty overview before any plan run proposed orders)."""
    run = current_run(store)
    if run is None:
        return Overview(run=None)
    previous = _previous(store, run)
    alerts = _sorted_alerts(_output(store, run, "alerts"))
    counts = alerts["severity"].value_counts().to_dict() if not alerts.empty else {}
    book = OrderBook(store).lines()
    this_run = book[book["as_of"] == pd.Timestamp(run.as_of)]
    exceptions = _exceptions(store, run)
    return Overview(
        run=run, alerts=alerts.head(_ALERT_LIMIT),
        severity_counts={s: int(counts.get(s, 0)) for s in SEVERITY_ORDER},
        suppliers=_supplier_rows(this_run, _output(store, run, "orders"),
                                 _output(store, previous, "orders")),
        exceptions=exceptions,
        exception_counts={str(k): int(v) for k, v in
                          exceptions["kind"].value_counts().sort_index().items()}
        if not exceptions.empty else {},
        previous=previous, transfers=_output(store, run, "transfers"))


def _exceptions(store: RunStore, run: RunRecord) -> pd.DataFrame:
    """The run's order line exceptions first, then its CPFR exceptions."""
    lines = _output(store, run, "order_exceptions")
    weeks = _output(store, run, "exceptions")
    parts = [f for f in (lines, weeks) if not f.empty]
    if not parts:
        return pd.DataFrame(columns=LINE_EXCEPTION_COLUMNS)
    return pd.concat(parts, ignore_index=True)


def _lines(book_lines: pd.DataFrame, orders: pd.DataFrame,
           previous: pd.DataFrame) -> pd.DataFrame:
    """This run's PO lines with their explanation and the previous run's quantity (by SKU
    and warehouse; see the module's decisions)."""
    explained = [c for c in EXPLANATION_COLUMNS if c in orders]
    book_lines = book_lines.assign(_where=ship_to(book_lines))
    out = book_lines.merge(orders.assign(_where=ship_to(orders))[["sku", "_where", *explained]],
                           on=["sku", "_where"], how="left") \
        if not orders.empty else book_lines.reindex(
            columns=[*book_lines.columns, *EXPLANATION_COLUMNS])
    before = (previous.assign(_where=ship_to(previous)).groupby(["sku", "_where"])["qty"].sum()
              if not previous.empty else pd.Series(dtype=float))
    keys = pd.MultiIndex.from_arrays([out["sku"], out["_where"]])
    out["previous_qty"] = before.reindex(keys).fillna(0.0).to_numpy() if len(before) else 0.0
    out = out.drop(columns="_where")
    out["change"] = out["proposed_qty"] - out["previous_qty"]
    out["amount"] = (out["qty"] * out["unit_cost"]).round(2)
    out["edited"] = (out["qty"] != out["proposed_qty"]) | (
        out["delivery_date"] != out["proposed_date"])
    return out


def supplier_page(store: RunStore, supplier: str) -> SupplierPage | None:
    """One supplier's page, or None when today's plan has no such supplier."""
    run = current_run(store)
    if run is None:
        return None
    orders = _output(store, run, "orders")
    book = OrderBook(store).lines(supplier=supplier)
    if book.empty and (orders.empty or supplier not in set(orders["supplier"])):
        return None
    previous = _previous(store, run)
    before = _output(store, previous, "orders")
    mine = orders[orders["supplier"] == supplier] if not orders.empty else orders
    prior = before[before["supplier"] == supplier] if not before.empty else before
    today = book[(book["as_of"] == pd.Timestamp(run.as_of))
                 & ~book["status"].isin(["withdrawn"])]
    answered = book[book["status"].isin(["sent", "confirmed", "partly_confirmed",
                                         "declined", "received"])]
    exceptions = _exceptions(store, run)
    exceptions = exceptions[exceptions["supplier"] == supplier] if not exceptions.empty \
        else exceptions
    forecast = _output(store, run, "order_forecast")
    forecast = forecast[forecast["supplier"] == supplier] if not forecast.empty else forecast
    return SupplierPage(supplier, run, _lines(today, mine, prior), answered, exceptions,
                        _forecast_table(forecast), previous)


def _forecast_table(forecast: pd.DataFrame) -> pd.DataFrame:
    """SKUs by week (the first 13 weeks) of the order forecast's quantities."""
    if forecast.empty:
        return pd.DataFrame()
    weeks = pd.to_datetime(forecast["week"]).dt.strftime("%m-%d")
    table = forecast.assign(week=weeks).pivot_table(
        index="sku", columns="week", values="qty", aggfunc="sum", sort=False).fillna(0.0)
    table = table.loc[table.sum(axis=1) > 0, list(table.columns)[:13]]
    return table.round(0)


@dataclass(frozen=True)
class ComparePage:
    """Today's order lines against another plan run's (``other``; None when the store holds
    no other run with order lines): the lines that differ and both runs' totals."""

    run: RunRecord
    other: RunRecord | None
    candidates: pd.DataFrame
    diff: pd.DataFrame
    totals: dict[str, float] = field(default_factory=dict)

    @property
    def pooled(self) -> bool:
        return bool((self.diff["warehouse"] != "").any()) if not self.diff.empty else False


def _line_totals(orders: pd.DataFrame) -> pd.DataFrame:
    """Units and value per (supplier, SKU, warehouse) of a run's order lines."""
    if orders.empty:
        return pd.DataFrame(columns=["qty", "value"],
                            index=pd.MultiIndex.from_arrays([[], [], []],
                                                            names=["supplier", "sku", "_where"]))
    frame = orders.assign(_where=ship_to(orders), value=orders["line_value"].astype(float),
                          qty=orders["qty"].astype(float))
    return frame.groupby(["supplier", "sku", "_where"])[["qty", "value"]].sum()


def order_diff(orders: pd.DataFrame, other: pd.DataFrame) -> pd.DataFrame:
    """The order lines whose quantity differs between ``orders`` (today's) and ``other`` (a
    what-if's or an earlier plan's), :data:`DIFF_COLUMNS`, largest value change first;
    ``status`` is ``added`` (only today), ``removed`` (only the other run) or ``changed``."""
    mine, theirs = _line_totals(orders), _line_totals(other)
    keys = mine.index.union(theirs.index)
    now, then = mine.reindex(keys), theirs.reindex(keys)
    status = pd.Series("changed", index=keys, dtype=object)
    status[now["qty"].isna()] = "removed"
    status[then["qty"].isna()] = "added"
    now, then = now.fillna(0.0), then.fillna(0.0)
    out = pd.DataFrame({
        "status": status, "qty": now["qty"], "other_qty": then["qty"],
        "change": now["qty"] - then["qty"], "value": now["value"],
        "other_value": then["value"], "value_change": now["value"] - then["value"],
    }, index=keys)
    out = out[out["change"].abs() > 1e-9].reset_index().rename(columns={"_where": "warehouse"})
    order = out["value_change"].abs().sort_values(ascending=False, kind="stable").index
    return out.loc[order, DIFF_COLUMNS].reset_index(drop=True)


def _comparable(store: RunStore, run: RunRecord) -> pd.DataFrame:
    """Succeeded plan runs other than ``run`` that kept their order lines, newest first."""
    runs = store.list_runs("plan", limit=_CANDIDATES)
    keep = [(status == "succeeded" and run_id != run.run_id
             and "orders" in str(outputs).split(", "))
            for run_id, status, outputs in zip(runs["run_id"], runs["status"], runs["outputs"],
                                               strict=True)]
    return runs[keep].reset_index(drop=True)


def compare_page(store: RunStore, other_id: str | None = None) -> ComparePage | None:
    """Today's plan against ``other_id`` (default: the newest other plan run with order
    lines), or None before any plan run proposed orders."""
    run = current_run(store)
    if run is None:
        return None
    candidates = _comparable(store, run)
    known = set(candidates["run_id"].astype(str))
    chosen = other_id if other_id in known else (
        str(candidates["run_id"].iloc[0]) if not candidates.empty else None)
    other = store.get_run(chosen) if chosen is not None else None
    orders, before = _output(store, run, "orders"), _output(store, other, "orders")
    totals = {"value": float(orders["line_value"].sum()) if not orders.empty else 0.0,
              "other_value": float(before["line_value"].sum()) if not before.empty else 0.0}
    diff = order_diff(orders, before) if other is not None else pd.DataFrame(
        columns=DIFF_COLUMNS)
    return ComparePage(run, other, candidates, diff, totals)
