"""Generate the sample brand: every table of the contract plus the truth behind it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from flows.errors import UserError
from flows.sample.calendar import DOUYIN, build_calendar
from flows.sample.catalog import make_catalog, with_supplier_terms
from flows.sample.demand import draw_demand, expected_demand, planned_rate
from flows.sample.inventory import replay_inventory
from flows.sample.presales import PRESALE_TRUTH_COLUMNS, make_presales
from flows.sample.returns import RETURN_TRUTH_COLUMNS, make_returns
from flows.sample.signals import Signals, make_signals
from flows.sample.tables import (
    commitments_table,
    inventory_table,
    open_orders_table,
    purchase_order_history,
    sales_table,
    stock_history,
    true_demand_table,
)
from flows.sample.warehouses import WAREHOUSES, split_inventory

__all__ = [
    "CALENDAR_DAYS",
    "DEFAULT_AS_OF",
    "DEFAULT_DAYS",
    "DEFAULT_SKUS",
    "TRUTH_DAYS",
    "SampleBrand",
    "describe_brand",
    "generate_brand",
]

# Double 11 falls inside the 28 days after the default as-of date.
DEFAULT_AS_OF = pd.Timestamp("2026-10-31")
DEFAULT_SKUS = 300
DEFAULT_DAYS = 800
TRUTH_DAYS = 91  # true demand is also drawn for this many days after the as-of date
CALENDAR_DAYS = 56  # promotions and livestreams are planned this far ahead
_ARRIVAL_SLACK_DAYS = 240  # orders placed near the as-of date can arrive this much later


@dataclass(frozen=True)
class SampleBrand:
    """A generated brand. ``tables`` holds the contract tables (typed: dates as timestamps,
    livestream times as naive Asia/Shanghai local time). ``true_demand`` (date, sku, channel,
    demand) covers the history and ``TRUTH_DAYS`` after ``as_of``; ``stock`` (date, sku,
    received, sold, on_hand) is the simulated warehouse, day by day; ``purchase_orders``
    (po_id, sku, supplier, qty, order_date, eta) every purchase order line it received or
    still expects; ``presales`` every presale window with all its deposits, the units
    converted and the true conversion (:mod:`flows.sample.presales`); ``returns`` every
    returned unit's sale and return dates and whether it was restocked, history and the
    ``TRUTH_DAYS`` after (:mod:`flows.sample.returns`)."""

    seed: int
    as_of: pd.Timestamp
    tables: dict[str, pd.DataFrame]
    true_demand: pd.DataFrame
    stock: pd.DataFrame
    purchase_orders: pd.DataFrame
    presales: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=PRESALE_TRUTH_COLUMNS))
    returns: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=RETURN_TRUTH_COLUMNS))


def _check(skus: int, days: int, seed: int) -> None:
    if skus < 10 or skus > 20000:
        raise UserError(f"--skus must be from 10 to 20000 (got {skus})")
    if days < 120 or days > 3650:
        raise UserError(f"--days must be from 120 to 3650 (got {days})")
    if seed < 0:
        raise UserError(f"--seed must be >= 0 (got {seed})")


def _as_of_date(value: str | date) -> pd.Timestamp:
    if not isinstance(value, str):
        return pd.Timestamp(value).normalize()
    try:
        return pd.Timestamp(date.fromisoformat(value))
    except ValueError as err:
        raise UserError(f"--as-of must be an ISO date such as 2026-10-31 (got {value!r})") from err


def _planned_units(signals: Signals, mean: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Livestream rows with the host's sales plan: the expected units, give or take a third."""
    streams = signals.livestreams
    expected = mean[streams["_sku_index"].to_numpy(), DOUYIN, streams["_day"].to_numpy()]
    planned = np.maximum(np.round(expected * rng.lognormal(0, 0.3, len(streams))), 1)
    out = streams.drop(columns=["_sku_index", "_day"]).assign(planned_units=planned)
    return out.sort_values(["start", "sku"], kind="stable", ignore_index=True)


def generate_brand(seed: int = 0, skus: int = DEFAULT_SKUS, days: int = DEFAULT_DAYS,
                   as_of: str | date = DEFAULT_AS_OF) -> SampleBrand:
    """Generate the sample brand: ``days`` of history ending at ``as_of``, same seed same data."""
    _check(skus, days, seed)
    as_of = _as_of_date(as_of)
    first = as_of - pd.Timedelta(days=days - 1)
    dates = pd.date_range(first, periods=days + TRUTH_DAYS, freq="D")
    extended = pd.date_range(first, periods=days + TRUTH_DAYS + _ARRIVAL_SLACK_DAYS, freq="D")
    # Streams 6, 7 and 8 (presales, returns, warehouses) were added later: spawning more
    # children leaves the first six, and so every earlier table and the truth, unchanged.
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(9)]
    calendar = build_calendar(extended)
    festival = calendar.festival[:, : len(dates)]
    catalog = make_catalog(streams[0], skus, first, days, len(dates))
    signals = make_signals(streams[1], catalog, dates, days, festival, calendar.closed,
                           CALENDAR_DAYS)
    mean = expected_demand(catalog, signals, festival, dates, days)
    catalog = with_supplier_terms(catalog, mean)
    demand = draw_demand(streams[2], mean, catalog.dispersion)
    mix = catalog.share.mean(axis=0)
    outlook = (mix[:, None] * calendar.festival).sum(axis=0)
    plan_noise = streams[3].uniform(0.6, 1.5, skus)  # a new SKU's budget is a guess
    plan = planned_rate(catalog, len(extended), days) * plan_noise[:, None]
    replay = replay_inventory(streams[4], catalog, demand[:, :, :days], plan, outlook,
                              calendar.closed, extended)
    sku_index = catalog.skus
    as_of_day = days - 1
    events = calendar.events[calendar.events["start"] <= dates[-1]].reset_index(drop=True)
    tables = {
        "sales": sales_table(replay, signals.selling_price(), sku_index, dates),
        "products": catalog.products,
        "suppliers": catalog.suppliers,
        "inventory": inventory_table(replay, sku_index),
        "open_orders": open_orders_table(replay, catalog, extended, as_of_day),
        "promotions": signals.promotions,
        "livestreams": _planned_units(signals, mean, streams[5]),
        "events": events,
        "prices": signals.prices,
        "commitments": commitments_table(streams[5], catalog, mean, dates, as_of_day),
    }
    presales = make_presales(streams[6], signals.promotions, demand, sku_index, dates,
                             as_of_day)
    sold = np.concatenate([replay.sales, demand[:, :, days:]], axis=2)
    returns = make_returns(streams[7], sold, sku_index, dates, as_of_day)
    tables["presales"], tables["returns"] = presales.table, returns.table
    tables["inventory"] = split_inventory(streams[8], tables["inventory"], catalog)
    tables["warehouses"] = WAREHOUSES.copy()
    return SampleBrand(
        seed=seed, as_of=as_of, tables=tables,
        true_demand=true_demand_table(demand, sku_index, dates),
        stock=stock_history(replay, sku_index, dates),
        purchase_orders=purchase_order_history(replay, catalog, extended),
        presales=presales.truth, returns=returns.truth,
    )


def describe_brand(brand: SampleBrand, folder: Path | None = None) -> str:
    """A few lines saying what was generated (and where)."""
    sales, products = brand.tables["sales"], brand.tables["products"]
    first, last = sales["date"].min(), sales["date"].max()
    lines = [
        f"Sample brand (seed {brand.seed}): {len(products)} SKUs, "
        f"{len(brand.tables['suppliers'])} suppliers, sales {first:%Y-%m-%d} to {last:%Y-%m-%d} "
        f"(as of {brand.as_of:%Y-%m-%d})",
        f"  sales rows: {len(sales):,} ({int(sales['stockout'].sum()):,} flagged stockout); "
        f"promotions: {len(brand.tables['promotions']):,}; "
        f"livestreams: {len(brand.tables['livestreams']):,}; "
        f"open order lines: {len(brand.tables['open_orders']):,}",
    ]
    if folder is not None:
        lines.append(f"  written to {folder} (true demand and stock in {folder / 'truth'})")
    return "\n".join(lines)
