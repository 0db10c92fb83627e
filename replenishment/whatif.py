"""What-if overrides a planner passes to :func:`replenishment.plan.plan` before committing.

* a promotion's expected lift: the forecast (channel and SKU frames, quantiles and demand
  scenarios) of that promotion's SKUs and days is multiplied by ``lift`` (1.5 = the planner
  expects 50% more than the engine forecasts). A promotion limited to one channel scales that
  channel; the SKU-level forecast and scenarios grow by the added channel demand;
* a supplier's lead time (and optionally its spread);
* the purchase budget of the run.

Overrides naming a promotion or supplier the dataset does not have are rejected with a
:class:`~forecasting.contract.DataContractError` naming the override and what is known.

What a what-if changed is reported against the base plan (the same inputs without the
overrides) by :func:`whatif_changes`: per supplier and per SKU, the firm order's units,
value and lines, the expected units short over the coverage window and the share of its
demand they are (``fill_at_risk``), and the sales value at risk of cut lines, base beside
what-if, only where something changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from forecasting.contract import DataContractError, Problem
from replenishment.config import PlanningConfig
from replenishment.contract import SupplyData
from replenishment.projection import PlanForecast

__all__ = [
    "WHATIF_CHANGE_COLUMNS",
    "LeadTimeOverride",
    "PlanOverrides",
    "PromotionLift",
    "apply_overrides",
    "parse_overrides",
    "whatif_changes",
]

_MEASURES = ("units", "value", "lines", "expected_short", "fill_at_risk", "value_at_risk")
WHATIF_CHANGE_COLUMNS = ["scope", "supplier", "sku"] + [
    f"{m}_{side}" for m in _MEASURES for side in ("base", "whatif", "change")]
_TOLERANCE = 1e-6

SOURCE = "overrides"
_VALUE_COLUMNS = ("forecast", "p50", "p90", "p95", "p99")


class PromotionLift(BaseModel):
    """Scale the forecast of one promotion (rows of ``promotions`` matching every field given)."""

    model_config = ConfigDict(extra="forbid")

    start: dt.date = Field(description="The promotion's start date.")
    sku: str | None = Field(default=None, description="Its SKU (for a SKU promotion).")
    category: str | None = Field(default=None, description="Its category (category-wide).")
    channel: str | None = Field(default=None, description="Its channel, when several match.")
    lift: float = Field(gt=0, description="Multiplier on the forecast during the promotion.")


class LeadTimeOverride(BaseModel):
    """A supplier's lead time for this plan."""

    model_config = ConfigDict(extra="forbid")

    supplier: str
    lead_time_days: float = Field(ge=0)
    lead_time_std_days: float | None = Field(default=None, ge=0)


class PlanOverrides(BaseModel):
    """Everything a planner may change for a what-if plan."""

    model_config = ConfigDict(extra="forbid")

    promotions: list[PromotionLift] = Field(default_factory=list)
    lead_times: list[LeadTimeOverride] = Field(default_factory=list)
    budget: float | None = Field(default=None, ge=0, description="Purchase budget of the run.")


def parse_overrides(raw: PlanOverrides | Mapping[str, Any]) -> PlanOverrides:
    """Validate overrides given as a mapping (e.g. from YAML or a request body)."""
    if isinstance(raw, PlanOverrides):
        return raw
    try:
        return PlanOverrides.model_validate(raw)
    except ValidationError as err:
        raise DataContractError([
            Problem(source=SOURCE, column=".".join(str(p) for p in e["loc"]),
                    value=None if e["type"] == "missing" else str(e.get("input")),
                    expected=e["msg"])
            for e in err.errors()
        ]) from err


def _describe(promo: PromotionLift) -> str:
    scope = [f"start {promo.start}"] + [
        f"{name} {value}" for name, value in (("sku", promo.sku), ("category", promo.category),
                                              ("channel", promo.channel)) if value is not None
    ]
    return ", ".join(scope)


def _matching(promotions: pd.DataFrame, promo: PromotionLift) -> pd.DataFrame:
    match = promotions["start"].dt.date == promo.start
    for column in ("sku", "category", "channel"):
        wanted = getattr(promo, column)
        if wanted is not None:
            match &= promotions[column] == wanted
    return promotions[match]


def _known_promotions(promotions: pd.DataFrame, limit: int = 5) -> str:
    if promotions.empty:
        return "the promotions table is empty"
    shown = []
    for row in promotions.head(limit).to_dict("records"):
        scope = row["sku"] if isinstance(row["sku"], str) else row["category"]
        shown.append(f"{pd.Timestamp(row['start']).date()} "
                     f"{scope if isinstance(scope, str) else 'all SKUs'}")
    more = f" and {len(promotions) - limit} more" if len(promotions) > limit else ""
    return "known: " + "; ".join(shown) + more


def _check(
    overrides: PlanOverrides, promotions: pd.DataFrame, suppliers: pd.DataFrame
) -> list[Problem]:
    problems = []
    for i, promo in enumerate(overrides.promotions):
        if promo.sku is None and promo.category is None:
            problems.append(Problem(source=SOURCE, column=f"promotions.{i}",
                                    value=_describe(promo),
                                    expected="a 'sku' or 'category' naming the promotion"))
        elif _matching(promotions, promo).empty:
            problems.append(Problem(
                source=SOURCE, column=f"promotions.{i}", value=_describe(promo),
                expected=f"a promotion of the promotions table ({_known_promotions(promotions)})",
            ))
    known = set(suppliers["supplier"])
    for i, lead in enumerate(overrides.lead_times):
        if lead.supplier not in known:
            shown = ", ".join(sorted(map(str, known))[:10]) or "none"
            problems.append(Problem(
                source=SOURCE, column=f"lead_times.{i}.supplier", value=lead.supplier,
                expected=f"a supplier of the suppliers table ({shown})",
            ))
    return problems


def _promotion_cells(
    rows: pd.DataFrame, products: pd.DataFrame, skus: pd.Index
) -> pd.DataFrame:
    """``sku, date, channel`` cells covered by the matched promotion rows ('' = all channels)."""
    cells = []
    for row in rows.to_dict("records"):
        if isinstance(row["sku"], str):
            members = [row["sku"]]
        elif isinstance(row["category"], str):
            members = products.loc[products["category"] == row["category"], "sku"].tolist()
        else:
            members = list(skus)
        dates = pd.date_range(pd.Timestamp(row["start"]), pd.Timestamp(row["end"]), freq="D")
        channel = row["channel"] if isinstance(row["channel"], str) else ""
        cells.append(pd.DataFrame(
            [(sku, day, channel) for sku in members for day in dates],
            columns=["sku", "date", "channel"],
        ))
    return pd.concat(cells, ignore_index=True).drop_duplicates()


def _sku_factors(channel: pd.DataFrame, sku: pd.DataFrame, cells: pd.DataFrame,
                 lift: float) -> pd.DataFrame:
    """Multiplier of SKU-level demand per (sku, date): ``lift`` when all channels are lifted,
    else ``1 + (lift - 1) x channel share of the day's forecast``."""
    whole = cells[cells["channel"] == ""][["sku", "date"]].assign(factor=lift)
    parts = [whole]
    partial = cells[cells["channel"] != ""]
    if not partial.empty and not channel.empty:
        lifted = channel.merge(partial, on=["sku", "date", "channel"])
        added = lifted.groupby(["sku", "date"], as_index=False)["forecast"].sum()
        totals = sku[["sku", "date", "forecast"]].rename(columns={"forecast": "total"})
        added = added.merge(totals, on=["sku", "date"])
        share = (added["forecast"] / added["total"].where(added["total"] > 0)).fillna(0.0)
        parts.append(added[["sku", "date"]].assign(factor=1 + (lift - 1) * share))
    factors = pd.concat(parts, ignore_index=True)
    # A cell lifted for all channels already carries the whole lift.
    return factors.sort_values("factor", key=lambda f: -abs(f - 1)).drop_duplicates(
        ["sku", "date"]
    )


def _scale(frame: pd.DataFrame, factors: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    if frame.empty or factors.empty:
        return frame
    merged = frame.merge(factors, on=keys, how="left")
    factor = merged["factor"].fillna(1.0).to_numpy()
    out = frame.copy()
    for column in _VALUE_COLUMNS:
        if column in out:
            out[column] = out[column].to_numpy(float) * factor
    return out


def _lift(forecast: PlanForecast, cells: pd.DataFrame, lift: float) -> PlanForecast:
    channel_cells = cells[cells["channel"] != ""]
    channel = forecast.channel
    if not channel.empty:
        all_channels = cells[cells["channel"] == ""][["sku", "date"]].merge(
            channel[["sku", "date", "channel"]].drop_duplicates(), on=["sku", "date"]
        )
        targeted = pd.concat([all_channels, channel_cells], ignore_index=True).drop_duplicates()
        channel = _scale(channel, targeted.assign(factor=lift), ["sku", "date", "channel"])
    factors = _sku_factors(forecast.channel, forecast.sku, cells, lift)
    sku = _scale(forecast.sku, factors, ["sku", "date"])
    scenarios = forecast.scenarios
    rows = scenarios.skus.get_indexer(pd.Index(factors["sku"]))
    cols = scenarios.dates.get_indexer(pd.DatetimeIndex(factors["date"]))
    keep = (rows >= 0) & (cols >= 0)
    paths = scenarios.paths.astype(float, copy=True)
    paths[rows[keep], :, cols[keep]] *= factors["factor"].to_numpy()[keep][:, None]
    return PlanForecast(channel, sku, replace(scenarios, paths=paths))


def apply_overrides(
    overrides: PlanOverrides | Mapping[str, Any],
    forecast: PlanForecast,
    supply: SupplyData,
    promotions: pd.DataFrame,
    config: PlanningConfig,
) -> tuple[PlanForecast, SupplyData, PlanningConfig]:
    """The forecast, supply tables and config with ``overrides`` applied (inputs untouched).

    Raises :class:`DataContractError` listing every override that names an unknown
    promotion or supplier.
    """
    parsed = parse_overrides(overrides)
    problems = _check(parsed, promotions, supply.suppliers)
    if problems:
        raise DataContractError(problems)
    for promo in parsed.promotions:
        cells = _promotion_cells(_matching(promotions, promo), supply.products,
                                 forecast.scenarios.skus)
        forecast = _lift(forecast, cells, promo.lift)
    if parsed.lead_times:
        suppliers = supply.suppliers.copy()
        for lead in parsed.lead_times:
            match = suppliers["supplier"] == lead.supplier
            suppliers.loc[match, "lead_time_days"] = lead.lead_time_days
            if lead.lead_time_std_days is not None:
                suppliers.loc[match, "lead_time_std_days"] = lead.lead_time_std_days
        supply = replace(supply, suppliers=suppliers)
    if parsed.budget is not None:
        config = config.model_copy(update={"budget": parsed.budget})
    return forecast, supply, config


def _per_sku(orders: pd.DataFrame, levels: pd.DataFrame) -> pd.DataFrame:
    """Per (supplier, sku) of a plan: units, value and lines ordered, expected units short
    over the coverage window, its protection demand and the value at risk of cuts."""
    keys = ["supplier", "sku"]
    ordered = orders.groupby(keys).agg(units=("qty", "sum"), value=("line_value", "sum"),
                                       lines=("qty", "size"))
    planned = levels.set_index(keys)
    risk = pd.DataFrame({
        "expected_short": planned.get("expected_shortage", pd.Series(0.0, planned.index)),
        "demand": planned.get("protection_demand", pd.Series(0.0, planned.index)),
        "value_at_risk": planned.get("value_at_risk", pd.Series(0.0, planned.index)),
    })
    return ordered.join(risk, how="outer").fillna(0.0)


def _side_by_side(base: pd.DataFrame, whatif: pd.DataFrame) -> pd.DataFrame:
    index = base.index.union(whatif.index)
    base, whatif = base.reindex(index).fillna(0.0), whatif.reindex(index).fillna(0.0)
    out = pd.DataFrame(index=index)
    for name, frame in (("base", base), ("whatif", whatif)):
        frame = frame.assign(fill_at_risk=frame["expected_short"] / frame["demand"].where(
            frame["demand"] > 0))
        for measure in _MEASURES:
            out[f"{measure}_{name}"] = frame[measure].fillna(0.0)
    for measure in _MEASURES:
        out[f"{measure}_change"] = out[f"{measure}_whatif"] - out[f"{measure}_base"]
    return out


def whatif_changes(base_orders: pd.DataFrame, base_levels: pd.DataFrame,
                   orders: pd.DataFrame, levels: pd.DataFrame) -> pd.DataFrame:
    """What a what-if plan (``orders``, ``levels``) changed against the base plan:
    :data:`WHATIF_CHANGE_COLUMNS`, one row per supplier (``scope`` "supplier", ``sku``
    empty; its SKUs summed, ``fill_at_risk`` over their summed demand) and per SKU
    (``scope`` "sku") where any measure changed, suppliers first, largest value change
    first."""
    base, whatif = _per_sku(base_orders, base_levels), _per_sku(orders, levels)
    skus = _side_by_side(base, whatif)
    suppliers = _side_by_side(base.groupby(level="supplier").sum(),
                              whatif.groupby(level="supplier").sum())
    changes = [f"{m}_change" for m in _MEASURES]
    parts = []
    for scope, frame in (("supplier", suppliers), ("sku", skus)):
        moved = frame[(frame[changes].abs() > _TOLERANCE).any(axis=1)].reset_index()
        if "sku" not in moved:
            moved["sku"] = ""
        moved = moved.assign(scope=scope, _order=-moved["value_change"].abs())
        parts.append(moved.sort_values(["_order", "supplier", "sku"], kind="stable"))
    out = pd.concat(parts, ignore_index=True)[WHATIF_CHANGE_COLUMNS]
    numeric = out.columns[3:]
    out[numeric] = out[numeric].astype(float).round(4)
    return out.astype({c: np.int64 for c in ("lines_base", "lines_whatif", "lines_change")})
