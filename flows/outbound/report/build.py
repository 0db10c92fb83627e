"""``report.html`` for one run: headline numbers, alerts, charts of the SKUs most at risk,
accuracy of recent runs. One self-contained file: inline CSS and SVG, no script, nothing
fetched from the network, so it opens offline and from an e-mail attachment.

Its words are the run's language (``ReportOptions.locale``; Jinja's i18n extension over the
catalogs of :mod:`flows.i18n`); amounts show as ``¥12,345`` in Chinese. Fonts are not
shipped (a CJK font is 10-20 MB): the page names a CJK font stack (Noto Sans CJK SC, Source
Han Sans SC, WenQuanYi Micro Hei, PingFang SC, Microsoft YaHei) that covers Linux, macOS and
Windows, and the charts name the CJK font matplotlib finds (:func:`~flows.outbound.report.
charts.cjk_font`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup

from flows.i18n import KIND_LABELS, Language, language
from flows.outbound.report.accuracy import ACCURACY_COLUMNS
from flows.outbound.report.charts import COLORS, accuracy_chart, chart_language, sku_chart
from flows.outbound.report.inputs import ReportInputs, check_inputs
from flows.outbound.report.series import arrivals, daily_history, projected_inventory
from flows.storage.exports import atomic_write
from replenishment.alerts import SEVERITIES
from replenishment.exposure import money_at_risk

__all__ = ["ReportOptions", "at_risk_skus", "render_report", "write_report"]

_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}


@dataclass(frozen=True)
class ReportOptions:
    """How much the report shows: ``top_skus`` charts, ``top_alerts`` table rows,
    ``history_days`` of sales before the as-of date in each chart."""

    top_skus: int = 8
    top_alerts: int = 25
    history_days: int = 120
    locale: str = "en"


def sort_alerts(alerts: pd.DataFrame) -> pd.DataFrame:
    """Most severe first, then the largest value at risk, then alert id (a stable order)."""
    key = alerts.assign(
        _rank=alerts["severity"].map(_RANK).fillna(len(SEVERITIES)),
        _risk=-pd.to_numeric(alerts["value_at_risk"], errors="coerce").fillna(0.0),
    )
    ordered = key.sort_values(["_rank", "_risk", "alert_id"], kind="stable")
    return ordered.drop(columns=["_rank", "_risk"])


def _environment(lang: Language | None = None) -> jinja2.Environment:
    # autoescape=True, not select_autoescape: the template's name ends in .j2, which
    # select_autoescape would not recognise as HTML. Product names and alert messages come
    # from input files and must never become markup.
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("flows.outbound.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    lang = lang or language("en")
    env.install_gettext_translations(lang.translations, newstyle=True)  # type: ignore[attr-defined]
    env.filters["money"] = lambda value: (
        lang.money(float(value), 0) if lang.is_chinese and not _missing(value)
        else _number(value))
    env.filters["kind"] = lambda kind: lang.gettext(KIND_LABELS.get(str(kind), str(kind)))
    env.filters["num"] = _number
    env.filters["pct"] = _percent
    env.filters["day"] = _day
    return env


def _missing(value: object) -> bool:
    if value is None or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _number(value: object) -> str:
    if _missing(value):
        return "–"
    number = float(value)  # type: ignore[arg-type]
    if abs(number) >= 100 or number == int(number):
        return f"{number:,.0f}"
    return f"{number:,.1f}"


def _percent(value: object, signed: bool = False) -> str:
    if _missing(value):
        return "–"
    return f"{float(value) * 100:{'+' if signed else ''}.1f}%"  # type: ignore[arg-type]


def _day(value: object) -> str:
    if _missing(value) or value == "":
        return ""
    try:
        return pd.Timestamp(value).strftime("%Y-%m-%d")  # type: ignore[arg-type]
    except (TypeError, ValueError):  # a date column read as free text: show it as written
        return str(value)


def _text(value: object) -> str:
    return "" if _missing(value) else str(value)


def _safe_href(href: str) -> str | None:
    """``href`` when it is a relative path or an http(s)/file URL; None for anything a
    browser would run (``javascript:``, ``data:``), which the report shows as text."""
    scheme = urlsplit(href).scheme.lower()
    if scheme in ("", "http", "https", "file") or len(scheme) == 1:  # 1 letter: a drive
        return href
    return None


def _names(inputs: ReportInputs) -> dict[str, str]:
    names: dict[str, str] = {}
    for frame in (inputs.orders, inputs.products):
        if not frame.empty and "name" in frame:
            known = frame.dropna(subset=["name"])
            names.update(zip(known["sku"].astype(str), known["name"].astype(str), strict=True))
    return names


def _suppliers(inputs: ReportInputs) -> dict[str, str]:
    suppliers: dict[str, str] = {}
    for frame in (inputs.products, inputs.levels, inputs.orders):
        if not frame.empty and "supplier" in frame:
            known = frame.dropna(subset=["supplier"])
            suppliers.update(zip(known["sku"].astype(str), known["supplier"].astype(str),
                                 strict=True))
    return suppliers


def _supplier_orders(orders: pd.DataFrame) -> list[dict[str, Any]]:
    """One row per supplier, or per supplier and ship-to warehouse when the plan has stock
    pools (``warehouse`` of the order lines)."""
    if orders.empty:
        return []
    keys = ["supplier", "warehouse"] if "warehouse" in orders else ["supplier"]
    table = orders.assign(**({"warehouse": orders["warehouse"].fillna("")}
                             if "warehouse" in orders else {})).groupby(keys, sort=True).agg(
        lines=("sku", "size"), units=("qty", "sum"), value=("line_value", "sum"),
        arrival=("expected_arrival", "min"),
    )
    rows = []
    for name, row in table.iterrows():
        key = name if isinstance(name, tuple) else (name,)
        rows.append({**dict(zip(keys, map(str, key), strict=True)), **row})
    return rows


def _transfers(transfers: pd.DataFrame, names: dict[str, str]) -> list[dict[str, Any]]:
    """The proposed moves between stock pools, largest purchase value avoided first."""
    if transfers.empty:
        return []
    frame = transfers
    if "purchase_value_avoided" in frame:
        frame = frame.sort_values("purchase_value_avoided", ascending=False, kind="stable")
    return [{
        "sku": _text(row["sku"]), "name": names.get(_text(row["sku"]), ""),
        "from": _text(row["from_warehouse"]), "to": _text(row["to_warehouse"]),
        "qty": row["qty"], "arrival": row["expected_arrival"],
        "cost": pd.to_numeric(row.get("transfer_cost", float("nan")), errors="coerce"),
        "avoided": pd.to_numeric(row.get("purchase_value_avoided", float("nan")),
                                 errors="coerce"),
    } for _, row in frame.iterrows()]


def _severity_counts(alerts: pd.DataFrame) -> list[dict[str, Any]]:
    counts = alerts["severity"].value_counts() if not alerts.empty else pd.Series(dtype=int)
    return [{"severity": name, "count": int(counts.get(name, 0))} for name in SEVERITIES]


def _headline(inputs: ReportInputs) -> dict[str, Any]:
    """The run's numbers; the money at risk counts each SKU's exposure once
    (:func:`replenishment.exposure.money_at_risk`), not the sum of overlapping alerts."""
    planned = inputs.levels if not inputs.levels.empty else inputs.forecast_sku
    risk = money_at_risk(inputs.alerts)
    return {
        "skus_planned": int(planned["sku"].nunique()) if not planned.empty else 0,
        "order_lines": len(inputs.orders),
        "order_value": float(inputs.orders["line_value"].sum()) if len(inputs.orders) else 0.0,
        "alerts": len(inputs.alerts),
        "value_at_risk": float(risk),
        "expected_fill_rate": inputs.expected_fill_rate,
    }


def _alert_rows(alerts: pd.DataFrame, names: dict[str, str], limit: int
                ) -> list[dict[str, Any]]:
    if alerts.empty:
        return []
    top = sort_alerts(alerts).head(limit)
    return [{
        "severity": _text(row["severity"]),
        "kind": _text(row["kind"]).replace("_", " "),
        "sku": _text(row["sku"]),
        "name": names.get(_text(row["sku"]), ""),
        "channel": _text(row.get("channel")),
        "warehouse": _text(row.get("warehouse")),
        "date": row["date"],
        "message": _text(row["message"]),
        "value_at_risk": pd.to_numeric(row["value_at_risk"], errors="coerce"),
        "action": _text(row.get("action")),
        "action_by": row.get("action_by"),
    } for _, row in top.iterrows()]


def at_risk_skus(alerts: pd.DataFrame, orders: pd.DataFrame, limit: int) -> list[str]:
    """SKUs to chart: those with the most severe alerts (then the most value at risk), then,
    when fewer than ``limit`` have alerts, those with the largest new orders."""
    chosen: list[str] = []
    if not alerts.empty:
        with_sku = alerts[alerts["sku"].notna() & (alerts["sku"].astype(str) != "")]
        ranked = with_sku.assign(
            _rank=with_sku["severity"].map(_RANK).fillna(len(SEVERITIES)),
            _risk=pd.to_numeric(with_sku["value_at_risk"], errors="coerce").fillna(0.0),
        ).groupby(with_sku["sku"].astype(str)).agg(rank=("_rank", "min"), risk=("_risk", "sum"))
        ranked = ranked.reset_index(names="sku").sort_values(
            ["rank", "risk", "sku"], ascending=[True, False, True])
        chosen = ranked["sku"].head(limit).tolist()
    if len(chosen) < limit and not orders.empty:
        by_value = orders.groupby(orders["sku"].astype(str))["line_value"].sum()
        for sku in by_value.sort_values(ascending=False, kind="stable").index:
            if len(chosen) >= limit:
                break
            if sku not in chosen:
                chosen.append(sku)
    return chosen


def _level_facts(levels: pd.DataFrame, sku: str) -> dict[str, float]:
    columns = ("on_hand", "on_order", "safety_stock", "reorder_point", "order_up_to",
               "protection_demand")
    if levels.empty:
        return {column: np.nan for column in columns}
    row = levels[levels["sku"].astype(str) == sku]
    return {column: float(row[column].iloc[0]) if column in row and len(row) else np.nan
            for column in columns}


def _sku_sections(inputs: ReportInputs, options: ReportOptions, as_of: pd.Timestamp,
                  names: dict[str, str], suppliers: dict[str, str]) -> list[dict[str, Any]]:
    skus = at_risk_skus(inputs.alerts, inputs.orders, options.top_skus)
    if not skus:
        return []
    sales = inputs.sales
    if not sales.empty:
        sales = sales[sales["sku"].astype(str).isin(skus)]
    history = daily_history(sales, skus, as_of, options.history_days)
    forecast = inputs.forecast_sku
    if not forecast.empty:
        forecast = forecast[forecast["sku"].astype(str).isin(skus)].assign(
            sku=lambda f: f["sku"].astype(str), date=lambda f: pd.to_datetime(f["date"]))
    receipts = arrivals(inputs.open_orders, inputs.orders)
    receipts = receipts.assign(sku=receipts["sku"].astype(str))
    alerts = sort_alerts(inputs.alerts) if not inputs.alerts.empty else inputs.alerts
    sections = []
    for position, sku in enumerate(skus):
        facts = _level_facts(inputs.levels, sku)
        sku_forecast = (forecast[forecast["sku"] == sku].sort_values("date")
                        if not forecast.empty else pd.DataFrame(columns=["date", "forecast"]))
        sku_receipts = receipts[receipts["sku"] == sku]
        on_hand = 0.0 if math.isnan(facts["on_hand"]) else facts["on_hand"]
        projection = projected_inventory(on_hand, sku_receipts, sku_forecast, as_of)
        short = projection[projection["short"] > 0]
        chart = sku_chart(
            history[history["sku"] == sku], sku_forecast, projection, sku_receipts,
            safety_stock=np.nan_to_num(facts["safety_stock"]),
            reorder_point=np.nan_to_num(facts["reorder_point"]),
            as_of=as_of, salt=f"sku-{position}",
        )
        new_units = float(sku_receipts.loc[sku_receipts["kind"] == "new order", "qty"].sum())
        sku_alerts = (alerts[alerts["sku"].astype(str) == sku]
                      if not alerts.empty else alerts)
        sections.append({
            "sku": sku,
            "name": names.get(sku, ""),
            "supplier": suppliers.get(sku, ""),
            "facts": facts,
            "order_qty": new_units,
            "first_stockout": short["date"].min() if not short.empty else None,
            "units_short": float(projection["short"].sum()),
            "alerts": _alert_rows(sku_alerts, names, limit=5),
            "arrivals": sku_receipts.to_dict("records"),
            "chart": Markup(chart),
        })
    return sections


def _accuracy(accuracy: pd.DataFrame) -> dict[str, Any]:
    if accuracy.empty:
        return {"rows": [], "chart": None}
    table = accuracy.reindex(columns=ACCURACY_COLUMNS).sort_values("as_of")
    chart = accuracy_chart(table) if len(table) else None
    return {"rows": table.iloc[::-1].to_dict("records"),
            "chart": Markup(chart) if chart else None}


def render_report(inputs: ReportInputs, options: ReportOptions | None = None) -> str:
    """The run report as one HTML document.

    Raises :class:`~forecasting.contract.DataContractError` when an input frame lacks a
    column the report needs.
    """
    check_inputs(inputs)
    options = options or ReportOptions()
    as_of = pd.Timestamp(inputs.as_of).normalize()
    names, suppliers = _names(inputs), _suppliers(inputs)
    lang = language(options.locale)
    context = {
        "html_lang": "zh-CN" if lang.is_chinese else "en",
        "brand": inputs.brand,
        "as_of": as_of,
        "run_id": inputs.run_id,
        "headline": _headline(inputs),
        "suppliers": _supplier_orders(inputs.orders),
        "pooled": "warehouse" in inputs.orders or "warehouse" in inputs.alerts,
        "transfers": _transfers(inputs.transfers, names),
        "severities": _severity_counts(inputs.alerts),
        "alerts": _alert_rows(inputs.alerts, names, options.top_alerts),
        "alerts_hidden": max(len(inputs.alerts) - options.top_alerts, 0),
        "skus": None,
        "accuracy": None,
        "links": [{"label": str(label), "href": _safe_href(str(href))}
                  for label, href in inputs.links.items()],
        "options": options,
        "colors": COLORS,
    }
    with chart_language(lang):
        context["skus"] = _sku_sections(inputs, options, as_of, names, suppliers)
        context["accuracy"] = _accuracy(inputs.accuracy)
    return _environment(lang).get_template("report.html.j2").render(context)


def write_report(inputs: ReportInputs, path: str | Path,
                 options: ReportOptions | None = None) -> Path:
    """Render and write the report atomically (a reader never sees half a file)."""
    html = render_report(inputs, options)
    target = Path(path)
    with atomic_write(target) as handle:
        handle.write(html)
    return target
