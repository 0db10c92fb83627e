"""The order book's open lines as a table of the dataset, so a plan counts what was ordered.

Lines sent to a supplier and not yet received are open orders, whatever the ERP's
``open_orders`` export knows yet: :func:`read_raw <flows.storage.sources.read_raw>` adds them
as the raw table ``order_book`` and :func:`with_order_book` merges them into ``open_orders``
(:func:`replenishment.cpfr.lifecycle_open_orders`: the confirmed quantity on the confirmed
date once the supplier answered, so the next plan re-plans around a shortfall). The merge's
as-of date is the newest sales date, the plan's default. A store that does not exist yet (an
SQLite file never created) has no order book: nothing is opened or created to find that out.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from flows.config import Settings
from flows.storage.orderbook import OrderBook
from flows.storage.store import RunStore
from replenishment.contract import Dataset
from replenishment.cpfr import OPEN_STATUSES, ORDER_LINE_COLUMNS, lifecycle_open_orders

__all__ = ["ORDER_BOOK_TABLE", "order_book_table", "with_order_book"]

ORDER_BOOK_TABLE = "order_book"


def _store_exists(url: str) -> bool:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return True
    database = parsed.database or ""
    return bool(database) and database != ":memory:" and Path(database).expanduser().exists()


def order_book_table(settings: Settings) -> tuple[pd.DataFrame, str] | None:
    """The open lines of the order book (:data:`~replenishment.cpfr.ORDER_LINE_COLUMNS`),
    or None when there are none."""
    if not _store_exists(settings.store_url):
        return None
    with RunStore(settings.store_url) as store:
        lines = OrderBook(store).lines(statuses=OPEN_STATUSES)
        shown = store.display_url
    if lines.empty:
        return None
    return lines[ORDER_LINE_COLUMNS].reset_index(drop=True), f"order book of {shown}"


def with_order_book(dataset: Dataset, lines: pd.DataFrame) -> Dataset:
    """``dataset`` with the order book's open lines among its open orders."""
    sales = dataset.demand.sales
    if lines.empty or sales.empty:
        return dataset
    as_of = pd.Timestamp(sales["date"].max()).normalize()
    if as_of.tzinfo is not None:
        as_of = as_of.tz_localize(None)
    supply = dataset.supply
    merged = lifecycle_open_orders(lines, supply.open_orders, as_of)
    return dataclasses.replace(dataset, supply=dataclasses.replace(supply, open_orders=merged))
