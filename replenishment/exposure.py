"""Money at risk counted once per SKU and period: what the headline of a run adds up.

Each alert states its own money at stake (``value_at_risk``: the units its problem concerns
x price for lost sales, x unit cost for stock and supplier problems). Alerts about the same
units must not add up: two livestreams on the same day each compare the whole stock with the
SKU's whole forecast for that day, and the stockout alert over the lead time already counts
the units the livestreams are short of. So the alerts of one SKU are split into pools of
money that can add (:data:`POOLS`: lost sales at price, excess stock at cost, supplier
problems at cost), and within a pool alerts whose periods (``period_start`` to
``period_end``) overlap are one exposure: the largest of their values, shared among them in
proportion to their own values. Periods that do not overlap are different units and add.

Example (tests/test_alerts_exposure.py): a stockout over days 1-10 worth 1,400 and two
livestreams on day 5 worth 2,000 each are one cluster; the SKU's lost-sales exposure is
2,000 (not 5,400), shared 1,400 x 2,000 / 5,400 = 518.52 and 740.74 each for the livestreams.

``exposure`` is each alert's share; :func:`sku_exposure` sums the shares per SKU and pool,
and :func:`money_at_risk` (the report's and digest's headline) is their sum. An alert's
severity reads its own ``value_at_risk``, never its share: a share shrinks when another alert
overlaps it, and severity must not depend on the other alerts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["POOLS", "exposure_shares", "money_at_risk", "pool_of", "sku_exposure"]

LOST_SALES, EXCESS, SUPPLY = "lost_sales", "excess", "supply"
# Pool of each alert kind; kinds not listed are a pool of their own.
POOLS = {
    "stockout_risk": LOST_SALES, "event_readiness": LOST_SALES,
    "capacity_bound": LOST_SALES, "budget_shortfall": LOST_SALES,
    "moq_above_capacity": LOST_SALES, "build_ahead": LOST_SALES, "launch": LOST_SALES,
    "suspected_stockout": LOST_SALES, "unplanned": LOST_SALES,
    "overstock": EXCESS, "expiry_risk": EXCESS,
    "supplier_exception": SUPPLY,
}


def pool_of(kinds: pd.Series) -> pd.Series:
    """The pool of each alert kind (:data:`POOLS`; an unknown kind is its own pool)."""
    return kinds.astype(str).map(lambda kind: POOLS.get(kind, kind))


def _periods(alerts: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Start and end of each alert's period; without period columns, its ``date``. A period
    with no date at all overlaps everything in its pool (the cautious reading)."""
    def column(name: str) -> pd.Series:
        values = alerts[name] if name in alerts else alerts.get("date")
        if values is None:
            return pd.Series(pd.NaT, index=alerts.index)
        return pd.Series(pd.to_datetime(values, errors="coerce"), index=alerts.index)

    start, end = column("period_start"), column("period_end")
    start, end = start.fillna(end), end.fillna(start)
    return start.fillna(pd.Timestamp.min), end.fillna(pd.Timestamp.max)


def _cluster_shares(values: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Shares of one SKU's pool: overlapping periods form a cluster worth its largest value,
    shared in proportion to the values."""
    order = np.argsort(start, kind="stable")
    shares = np.zeros(len(values))
    cluster: list[int] = []
    reach = None
    for i in order:
        if cluster and reach is not None and start[i] > reach:
            _share(cluster, values, shares)
            cluster, reach = [], None
        cluster.append(int(i))
        reach = end[i] if reach is None else max(reach, end[i])
    if cluster:
        _share(cluster, values, shares)
    return shares


def _share(cluster: list[int], values: np.ndarray, shares: np.ndarray) -> None:
    total = values[cluster].sum()
    if total > 0:
        shares[cluster] = values[cluster].max() * values[cluster] / total


def exposure_shares(alerts: pd.DataFrame) -> pd.Series:
    """Each alert's share of its SKU's money at risk (index of ``alerts``)."""
    if alerts.empty:
        return pd.Series(dtype=float, index=alerts.index)
    values = pd.to_numeric(alerts["value_at_risk"], errors="coerce").fillna(0.0).clip(lower=0)
    start, end = _periods(alerts)
    sku = alerts["sku"].where(alerts["sku"].notna() & (alerts["sku"].astype(str) != ""))
    # An alert without a SKU shares with nothing: its own key.
    key = sku.astype(object).fillna(pd.Series(alerts.index.astype(str), index=alerts.index))
    frame = pd.DataFrame({"key": key.astype(str), "pool": pool_of(alerts["kind"]),
                          "value": values.to_numpy(float), "start": start.to_numpy(),
                          "end": end.to_numpy()}, index=alerts.index)
    shares = pd.Series(0.0, index=alerts.index)
    for _, group in frame.groupby(["key", "pool"], sort=False):
        shares.loc[group.index] = _cluster_shares(
            group["value"].to_numpy(float), group["start"].to_numpy(), group["end"].to_numpy())
    return shares.round(2)


def sku_exposure(alerts: pd.DataFrame) -> pd.DataFrame:
    """Money at risk per SKU: one column per pool and ``exposure``, their sum (largest
    first). Reads the alerts' ``exposure`` column, or computes the shares when it is absent."""
    if alerts.empty:
        return pd.DataFrame(columns=["sku", "exposure"])
    shares = (pd.to_numeric(alerts["exposure"], errors="coerce").fillna(0.0)
              if "exposure" in alerts else exposure_shares(alerts))
    frame = pd.DataFrame({"sku": alerts["sku"].fillna("").astype(str),
                          "pool": pool_of(alerts["kind"]), "share": shares})
    table = frame.pivot_table(index="sku", columns="pool", values="share", aggfunc="sum",
                              fill_value=0.0)
    table["exposure"] = table.sum(axis=1)
    table.columns.name = None
    return table.sort_values("exposure", ascending=False).reset_index()


def money_at_risk(alerts: pd.DataFrame) -> float:
    """The headline money at risk of a run: the sum of the per-SKU exposures."""
    if alerts.empty:
        return 0.0
    return round(float(sku_exposure(alerts)["exposure"].sum()), 2)
