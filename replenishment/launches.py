"""Demand of products launching after the planning date, when the forecast has none.

A product with a ``launch_date`` after ``as_of`` (and not discontinued) is planned like any
SKU once it has demand paths. When the forecast (``forecasting``) gives it paths with demand
after the launch, those are used. Otherwise replenishment builds them here, and says so in
:attr:`LaunchDemand.table` (``source``):

* units of the first 28 days: the product's ``launch_units`` when set, else the mean of its
  category's *analogous launches* (SKUs whose first sale falls inside the sales history, not
  on its first 28 days, over their first 28 days of sales);
* shape: the analogues' mean daily profile over those 28 days (flat when there are none),
  continued after day 28 at the profile's last-week rate;
* planned livestreams of the SKU add their ``planned_units`` on their day;
* uncertainty: each path scales the plan by a lognormal factor (median 1, sigma 0.5: a
  launch estimate is often off by half) and draws Poisson days around it.

A launch with neither ``launch_units``, nor analogues in its category, nor a planned
livestream cannot be planned: it is listed in :attr:`LaunchDemand.unplannable` with the
reason (the plan raises an alert). A launch before the earliest arrival of an order placed
now is listed in :attr:`LaunchDemand.late`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forecasting.scenarios import DemandScenarios
from replenishment.messages import Message
from replenishment.projection import daily_paths, scenario_offset

__all__ = ["LAUNCH_COLUMNS", "LaunchDemand", "launch_scenarios"]

LAUNCH_COLUMNS = ["sku", "launch_date", "source", "launch_units", "livestream_units"]
_FIRST_DAYS = 28
_SIGMA = 0.5
_STOPPED = frozenset({"discontinued", "inactive", "delisted"})


@dataclass(frozen=True)
class LaunchDemand:
    """Scenarios with launch paths added; one row per launch (:data:`LAUNCH_COLUMNS`)."""

    scenarios: DemandScenarios
    table: pd.DataFrame
    unplannable: dict[str, Message] = field(default_factory=dict)
    late: dict[str, Message] = field(default_factory=dict)


def _analogues(sales: pd.DataFrame, products: pd.DataFrame) -> dict[str, np.ndarray]:
    """Mean units per day over the first 28 days of the category's launches in the history."""
    if sales.empty or "category" not in products:
        return {}
    daily = sales.groupby(["sku", "date"], as_index=False)["units"].sum()
    first = daily.groupby("sku")["date"].min()
    start = daily["date"].min() + pd.Timedelta(days=_FIRST_DAYS)
    end = daily["date"].max() - pd.Timedelta(days=_FIRST_DAYS)
    launched = first[(first > start) & (first <= end)]
    if launched.empty:
        return {}
    daily = daily[daily["sku"].isin(launched.index)]
    day = (daily["date"] - daily["sku"].map(launched)).dt.days
    daily = daily[day < _FIRST_DAYS].assign(day=day[day < _FIRST_DAYS])
    category = products.drop_duplicates("sku").set_index("sku")["category"]
    daily = daily.assign(category=daily["sku"].map(category))
    out: dict[str, np.ndarray] = {}
    for name, part in daily.dropna(subset=["category"]).groupby("category"):
        curve = np.zeros(_FIRST_DAYS)
        np.add.at(curve, part["day"].to_numpy(int), part["units"].to_numpy(float))
        out[str(name)] = curve / part["sku"].nunique()
    return out


def _livestream_units(livestreams: pd.DataFrame, sku: str, first_day: pd.Timestamp,
                      days: int) -> np.ndarray:
    out = np.zeros(days)
    if livestreams.empty or "sku" not in livestreams or "planned_units" not in livestreams:
        return out
    own = livestreams[(livestreams["sku"] == sku) & livestreams["planned_units"].notna()]
    for start, units in zip(own["start"], own["planned_units"], strict=True):
        day = (pd.Timestamp(start).normalize() - first_day).days
        if 0 <= day < days:
            out[day] += float(units)
    return out


def _mean_curve(launch_day: int, units: float | None, profile: np.ndarray | None,
                days: int) -> np.ndarray:
    curve = np.zeros(days)
    if units is None and profile is None:
        return curve
    shape = (np.full(_FIRST_DAYS, 1.0 / _FIRST_DAYS) if profile is None or profile.sum() <= 0
             else profile / profile.sum())
    total = float(units) if units is not None else float(profile.sum())  # type: ignore[union-attr]
    tail = shape[-7:].mean() * total
    for d in range(max(launch_day, 0), days):
        k = d - launch_day
        curve[d] = shape[k] * total if k < _FIRST_DAYS else tail
    return curve


def launch_scenarios(products: pd.DataFrame, sales: pd.DataFrame, livestreams: pd.DataFrame,
                     scenarios: DemandScenarios, as_of: pd.Timestamp, horizon: int,
                     seed: int = 0, lead_days: pd.Series | None = None) -> LaunchDemand:
    """``scenarios`` with paths for launches after ``as_of`` that have none (see module).

    ``horizon``: days from ``as_of + 1`` the paths must cover (the planning horizon); when
    launches are added and the forecast is shorter, every SKU's paths are extended as
    :func:`~replenishment.projection.daily_paths` does. ``lead_days`` (per SKU) marks
    launches before the earliest possible arrival as late.
    """
    as_of = pd.Timestamp(as_of).normalize()
    first_day = as_of + pd.Timedelta(days=1)
    table = pd.DataFrame(columns=LAUNCH_COLUMNS)
    if "launch_date" not in products:
        return LaunchDemand(scenarios, table)
    status = products.get("status", pd.Series("", index=products.index)).fillna("")
    coming = products[(pd.to_datetime(products["launch_date"]) > as_of)
                      & ~status.astype(str).str.lower().isin(_STOPPED)]
    if coming.empty:
        return LaunchDemand(scenarios, table)
    offset = scenario_offset(scenarios, as_of)
    days = max(len(scenarios.dates) - offset, horizon)
    mean = scenarios.paths.mean(axis=1)
    analogues = _analogues(sales, products)
    rng = np.random.default_rng(seed)
    rows, names, curves = [], [], []
    unplannable: dict[str, Message] = {}
    late: dict[str, Message] = {}
    for _, product in coming.iterrows():
        sku = str(product["sku"])
        launch = pd.Timestamp(product["launch_date"]).normalize()
        launch_day = (launch - first_day).days
        at = scenarios.skus.get_indexer(pd.Index([sku]))[0]
        if at >= 0 and mean[at, offset + max(launch_day, 0):].sum() > 0:
            rows.append([sku, launch, "forecast", np.nan, 0.0])
            continue
        units = product.get("launch_units")
        units = None if units is None or pd.isna(units) else float(units)
        profile = analogues.get(str(product.get("category", "")))
        live = _livestream_units(livestreams, sku, first_day, days)
        if units is None and profile is None and live.sum() <= 0:
            unplannable[sku] = Message("launch_unplannable", {
                "sku": sku, "launch": launch,
                "category": product.get("category", "") or Message("no_category")})
            continue
        curve = _mean_curve(launch_day, units, profile, days) + live
        source = ("launch_units" if units is not None else
                  "category analogues" if profile is not None else "livestream")
        rows.append([sku, launch, source, float(curve[:launch_day + _FIRST_DAYS].sum()),
                     float(live.sum())])
        names.append(sku)
        curves.append(curve)
        if lead_days is not None and sku in lead_days and launch_day < lead_days[sku]:
            late[sku] = Message("launch_late", {"sku": sku, "launch": launch,
                                                "lead_days": lead_days[sku]})
    table = pd.DataFrame(rows, columns=LAUNCH_COLUMNS)
    if not names:
        return LaunchDemand(scenarios, table, unplannable, late)
    paths = scenarios.n_paths
    factor = rng.lognormal(-_SIGMA**2 / 2, _SIGMA, size=(len(names), paths, 1))
    launch_paths = rng.poisson(np.asarray(curves)[:, None, :] * factor).astype(float)
    keep = ~scenarios.skus.isin(names)
    base = daily_paths(scenarios, np.flatnonzero(keep), 0, offset + days)
    dates = pd.date_range(scenarios.dates[0], periods=offset + days, freq="D")
    head = np.zeros((len(names), paths, offset))
    merged = np.concatenate([base, np.concatenate([head, launch_paths], axis=2)])
    skus = pd.Index(list(scenarios.skus[keep]) + names)
    return LaunchDemand(DemandScenarios(skus, dates, merged), table, unplannable, late)
