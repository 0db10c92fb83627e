"""What a planning run writes and says: the files of the output folder, ``summary.json``, and
the few lines printed in the terminal."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd

from flows.config import Settings
from flows.i18n import language
from flows.outbound.purchase_order import write_purchase_orders
from flows.storage.exports import safe_filename, write_csv
from forecasting import ForecastResult
from replenishment.exposure import money_at_risk
from replenishment.plan import PlanResult

__all__ = ["plan_summary", "shortfall", "write_plan_outputs"]


def write_plan_outputs(result: PlanResult, forecast: ForecastResult, folder: Path,
                       summary: dict[str, object], settings: Settings | None = None,
                       products: pd.DataFrame | None = None) -> dict[str, Path]:
    """Every file a planner and the suppliers receive, into ``folder``: each supplier's
    purchase order (``orders/<supplier>.xlsx`` and ``.csv``, :mod:`flows.outbound.
    purchase_order`; ``settings`` gives its ship-to and language, ``products`` the
    discontinued SKUs and suppliers' own codes)."""
    files: dict[str, Path] = write_purchase_orders(
        result.orders_by_supplier(), result.order_forecast_by_supplier(), folder,
        as_of=date.fromisoformat(str(summary["as_of"])), products=products,
        options=settings.purchase_orders if settings else None,
        lang=language(settings.locale if settings else "en"))
    for supplier, weeks in result.order_forecast_by_supplier().items():
        files[f"order_forecast/{supplier}"] = write_csv(
            weeks, folder / "order_forecast" / f"{safe_filename(supplier)}.csv")
    for name, frame in (("orders", result.orders), ("exceptions", result.exceptions),
                        ("alerts", result.alerts), ("levels", result.levels),
                        ("forecast", forecast.channel), ("forecast_sku", forecast.sku),
                        ("data_quality", forecast.data_quality),
                        ("forecast_returns", forecast.returns),
                        ("launches", result.launches)):
        files[name] = write_csv(frame, folder / f"{name}.csv")
    if "warehouse" in result.levels:  # planned per stock pool (a warehouses table)
        lang = language(settings.locale if settings else "en")
        # Headers in the run's language (调出仓, 调入仓...), as a supplier's purchase order.
        transfers = result.transfers.set_axis(lang.column_labels(result.transfers.columns),
                                              axis=1)
        files["transfers"] = write_csv(transfers, folder / "transfers.csv")
    if result.changes is not None:  # a what-if: what it changed against the base plan
        files["whatif_changes"] = write_csv(result.changes, folder / "whatif_changes.csv")
    summary_path = folder / "summary.json"
    summary_path.write_text(json.dumps(summary, indent=2, ensure_ascii=False, default=str),
                            encoding="utf-8")
    files["summary"] = summary_path
    return files


def plan_summary(result: PlanResult, run_id: str, as_of: pd.Timestamp) -> dict[str, object]:
    """The run's headline numbers, written as ``summary.json``; ``money_at_risk`` is the
    digest's headline (each SKU's exposure once: :func:`replenishment.exposure.money_at_risk`)."""
    report = result.report
    severities = result.alerts["severity"].value_counts().to_dict() if len(result.alerts) else {}
    return {
        "run_id": run_id,
        "as_of": as_of.date().isoformat(),
        "skus_planned": len(result.levels),
        "order_lines": len(result.orders),
        "order_value": round(float(result.orders["line_value"].sum()), 2),
        "suppliers_ordered": int(result.orders["supplier"].nunique()),
        "exceptions": len(result.exceptions),
        "alerts": {str(k): int(v) for k, v in severities.items()},
        "money_at_risk": (money_at_risk(result.alerts) if "exposure" in result.alerts
                          else 0.0),
        "transfers": len(result.transfers),
        "solver": {
            "status": report.status, "proven_optimal": report.proven_optimal,
            "gap": report.gap, "seconds": round(report.seconds, 2), "message": report.message,
        },
        "unplanned_skus": result.unplanned,
        "shortfall": shortfall(result.levels),
    }


def shortfall(levels: pd.DataFrame) -> dict[str, dict[str, float | int]]:
    """Need the firm orders leave unfunded, per binding limit (``capacity``, ``budget``,
    ``volume``; a line cut by two counts under both): SKUs, units, their value at cost and
    the sales value at risk."""
    out: dict[str, dict[str, float | int]] = {}
    reasons = levels["cut_reason"].astype(str) if "cut_reason" in levels else pd.Series(
        dtype=str)
    for limit in ("capacity", "budget", "volume"):
        rows = levels[reasons.str.contains(limit) & (levels["unfunded_units"] > 0)]
        if rows.empty:
            continue
        out[limit] = {"skus": len(rows),
                      "unfunded_units": round(float(rows["unfunded_units"].sum()), 1),
                      "unfunded_value": round(float(rows["unfunded_value"].sum()), 2),
                      "value_at_risk": round(float(rows["value_at_risk"].sum()), 2)}
    return out
