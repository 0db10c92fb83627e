"""Each supplier's purchase order: ``orders/<supplier>.xlsx`` (order and order forecast
sheets) and ``orders/<supplier>.csv`` (the order lines), in the run's language.

What a supplier receives is not what a planner reads. Decisions:

* A PO number per supplier and as-of date, ``PO-20261101-SUP-01`` (prefix from
  ``purchase_orders.number_prefix``; a supplier code that is not plain letters, digits and
  ``-`` or is longer than 16 characters is replaced by 6 hex digits of its hash), so a re-run
  of the same day revises the same PO instead of issuing a new one. Lines are numbered 1..n.
* Lines carry SKU, the supplier's own code (``supplier_sku`` in products, when given), name,
  quantity in units and in cases, unit cost, amount, requested delivery date (the plan's
  expected arrival) and ship-to (``purchase_orders.ship_to``; with stock pools, the warehouse
  the line ships to).
* Internal stock fields (on hand, on order, safety stock, reorder point, inventory position,
  projected stock) are left out unless the supplier is listed in
  ``purchase_orders.share_stock_with`` (CPFR partners who get them by choice).
* A discontinued, inactive or delisted SKU never appears, in the order or the forecast.
* The second sheet is the order forecast for the next ``forecast_weeks`` (13) weeks, SKUs
  with no planned order in them left out.
* In the workbook, SKU, supplier code and PO number cells are text cells formatted ``@``, so
  Excel keeps ``00123`` as ``00123``; text is written as text, never as a formula (formula
  injection stays neutralised; the CSV goes through :func:`~flows.storage.exports.write_csv`).
* Headers are the catalog's: in English the machine names (``po_number``, ``qty``), which
  scripts and the earlier CSV readers rely on; in Chinese 采购单号, 数量 and so on.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import xlsxwriter

from flows.config import PurchaseOrderSettings
from flows.i18n import Language, language
from flows.storage.exports import atomic_write, safe_filename, write_csv
from replenishment.plan import STOPPED_STATUSES

__all__ = [
    "FORECAST_COLUMNS",
    "ORDER_COLUMNS",
    "SHARED_COLUMNS",
    "PurchaseOrder",
    "build_purchase_order",
    "line_ship_to",
    "po_number",
    "write_purchase_order",
    "write_purchase_orders",
]

ORDER_COLUMNS = ("po_number", "line", "sku", "supplier_sku", "name", "qty", "case_pack",
                 "cases", "unit_cost", "amount", "order_date", "requested_delivery", "ship_to")
SHARED_COLUMNS = ("on_hand", "on_order", "safety_stock", "reorder_point", "inventory_position")
FORECAST_COLUMNS = ("sku", "supplier_sku", "name", "week", "qty", "cases")
_FORECAST_SHARED = ("demand", "projected_on_hand")
_TEXT = frozenset({"po_number", "line_id", "sku", "supplier_sku", "name", "ship_to"})
_MONEY = frozenset({"unit_cost", "amount"})
_DATES = frozenset({"order_date", "requested_delivery", "week", "confirmed_date"})
_CODE = re.compile(r"^[A-Za-z0-9-]{1,16}$")


def po_number(supplier: str, as_of: date, prefix: str = "PO") -> str:
    """``PO-20261101-SUP-01``; see the module's decisions for codes that do not fit."""
    code = supplier if _CODE.match(supplier) else hashlib.sha256(
        supplier.encode("utf-8")).hexdigest()[:6]
    return f"{prefix}-{as_of:%Y%m%d}-{code}"


@dataclass(frozen=True)
class PurchaseOrder:
    """One supplier's order lines and order forecast, with internal names as columns."""

    supplier: str
    number: str
    lines: pd.DataFrame
    forecast: pd.DataFrame


def _stopped(products: pd.DataFrame | None) -> set[str]:
    if products is None or "status" not in products.columns:
        return set()
    status = products["status"].astype(str).str.strip().str.lower()
    return set(products.loc[status.isin(STOPPED_STATUSES), "sku"].astype(str))


def _supplier_codes(products: pd.DataFrame | None) -> dict[str, str]:
    if products is None or "supplier_sku" not in products.columns:
        return {}
    named = products.dropna(subset=["supplier_sku"])
    return {str(s): str(c) for s, c in zip(named["sku"], named["supplier_sku"], strict=True)}


def _cases(qty: pd.Series, case_pack: pd.Series) -> pd.Series:
    """Cases per line: whole numbers (orders are whole cases) as integers, ``59`` not
    ``59.0``; a quantity that is not whole cases (an open order forecast row) keeps 2
    decimals."""
    pack = pd.to_numeric(case_pack, errors="coerce").where(lambda p: p > 0, 1.0)
    cases = (pd.to_numeric(qty, errors="coerce") / pack).round(2)
    whole = cases.dropna()
    return cases.astype("Int64") if (whole == whole.round()).all() else cases


def line_ship_to(lines: pd.DataFrame, options: PurchaseOrderSettings) -> pd.Series | str:
    """Each line's pool warehouse when the plan has stock pools, else the configured ship-to
    (also for a line naming no warehouse)."""
    if "warehouse" not in lines:
        return options.ship_to
    where = lines["warehouse"]
    return pd.Series([str(w) if isinstance(w, str) and w else options.ship_to for w in where],
                     index=lines.index, dtype=object)


def build_purchase_order(
    supplier: str, lines: pd.DataFrame, forecast: pd.DataFrame, *, as_of: date,
    products: pd.DataFrame | None = None, options: PurchaseOrderSettings | None = None,
) -> PurchaseOrder:
    """The supplier-facing order of ``lines`` (plan order lines) and ``forecast`` (its order
    forecast rows); see the module's decisions for what is kept."""
    options = options or PurchaseOrderSettings()
    stopped, codes = _stopped(products), _supplier_codes(products)
    share = supplier in options.share_stock_with or "*" in options.share_stock_with
    number = po_number(supplier, as_of, options.number_prefix)
    kept = lines[~lines["sku"].astype(str).isin(stopped)].reset_index(drop=True)
    order = pd.DataFrame({
        "po_number": number, "line": range(1, len(kept) + 1),
        "sku": kept["sku"].astype(str), "supplier_sku": kept["sku"].astype(str).map(codes),
        "name": kept.get("name", pd.Series("", index=kept.index)),
        "qty": kept["qty"], "case_pack": kept["case_pack"],
        "cases": _cases(kept["qty"], kept["case_pack"]), "unit_cost": kept["unit_cost"],
        "amount": kept["line_value"], "order_date": kept["order_date"],
        "requested_delivery": kept["expected_arrival"], "ship_to": line_ship_to(kept, options),
    }, columns=list(ORDER_COLUMNS))
    if share:
        for column in SHARED_COLUMNS:
            order[column] = kept.get(column, pd.NA)
    names = dict(zip(kept["sku"].astype(str), order["name"], strict=True))
    if products is not None and "name" in products.columns:
        names |= {str(s): str(n) for s, n in zip(products["sku"], products["name"], strict=True)
                  if isinstance(n, str) and n}
    return PurchaseOrder(supplier, number, order,
                         _forecast(forecast, stopped, codes, names, kept, options, share))


def _forecast(forecast: pd.DataFrame, stopped: set[str], codes: Mapping[str, str],
              names: Mapping[str, str], lines: pd.DataFrame, options: PurchaseOrderSettings,
              share: bool) -> pd.DataFrame:
    columns = list(FORECAST_COLUMNS) + (list(_FORECAST_SHARED) if share else [])
    rows = forecast[~forecast["sku"].astype(str).isin(stopped)]
    weeks = sorted(pd.to_datetime(rows["week"]).unique())[:options.forecast_weeks]
    rows = rows[pd.to_datetime(rows["week"]).isin(weeks)]
    ordered = rows.groupby("sku")["qty"].transform("sum") > 0
    rows = rows[ordered].sort_values(["sku", "week"]).reset_index(drop=True)
    packs = dict(zip(lines["sku"].astype(str), lines["case_pack"], strict=True))
    out = pd.DataFrame({
        "sku": rows["sku"].astype(str), "supplier_sku": rows["sku"].astype(str).map(codes),
        "name": rows["sku"].astype(str).map(names), "week": rows["week"], "qty": rows["qty"],
        "cases": _cases(rows["qty"], rows["sku"].astype(str).map(packs)),
    })
    for column in _FORECAST_SHARED if share else ():
        out[column] = rows.get(column, pd.NA)
    return out[columns]


def _write_sheet(book: xlsxwriter.Workbook, name: str, frame: pd.DataFrame,
                 lang: Language) -> None:
    sheet = book.add_worksheet(name)
    bold = book.add_format({"bold": True})
    text = book.add_format({"num_format": "@"})
    money = book.add_format({"num_format": '"¥"#,##0.00'})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    number = book.add_format({"num_format": "#,##0.##"})
    for col, header in enumerate(lang.column_labels(frame.columns)):
        sheet.write_string(0, col, header, bold)
        sheet.set_column(col, col, max(10, min(40, 2 * len(header) + 4)))
    for col, column in enumerate(frame.columns):
        cell_format = (text if column in _TEXT else money if column in _MONEY
                       else day if column in _DATES else number)
        for row, value in enumerate(frame[column].tolist(), start=1):
            if value is None or (not isinstance(value, str) and pd.isna(value)):
                sheet.write_blank(row, col, None, cell_format)
            elif column in _DATES:
                sheet.write_datetime(row, col, pd.Timestamp(value).to_pydatetime(), cell_format)
            elif column in _TEXT or isinstance(value, str):
                sheet.write_string(row, col, str(value), cell_format)
            else:
                sheet.write_number(row, col, float(value), cell_format)
    sheet.freeze_panes(1, 0)


def _workbook(order: PurchaseOrder, lang: Language, as_of: date) -> bytes:
    """The workbook's bytes depend only on the order: its creation time is the as-of date, so
    a re-run of the same order is byte-identical and the supplier is not sent it again."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    created = datetime.combine(as_of, datetime.min.time())
    book.set_properties({"created": created, "title": order.number})
    _write_sheet(book, lang.gettext("Purchase order"), order.lines, lang)
    _write_sheet(book, lang.gettext("Order forecast"), order.forecast, lang)
    book.close()
    return buffer.getvalue()


def _for_people(frame: pd.DataFrame, lang: Language) -> pd.DataFrame:
    out = frame.copy()
    for column in _DATES & set(out.columns):
        out[column] = pd.to_datetime(out[column]).dt.strftime("%Y-%m-%d")
    out.columns = lang.column_labels(frame.columns)
    return out


def write_purchase_orders(
    orders: Mapping[str, pd.DataFrame], forecasts: Mapping[str, pd.DataFrame], folder: Path,
    *, as_of: date, products: pd.DataFrame | None = None,
    options: PurchaseOrderSettings | None = None, lang: Language | None = None,
) -> dict[str, Path]:
    """``orders/<supplier>.xlsx`` and ``.csv`` for each supplier in ``orders``; returns the
    paths keyed ``orders/<supplier>`` (the CSV) and ``purchase_orders/<supplier>`` (the
    workbook)."""
    lang = lang or language("en")
    empty = pd.DataFrame(columns=["sku", "week", "qty"])
    files: dict[str, Path] = {}
    for supplier, lines in orders.items():
        order = build_purchase_order(supplier, lines, forecasts.get(supplier, empty),
                                     as_of=as_of, products=products, options=options)
        files |= write_purchase_order(order, folder, as_of=as_of, lang=lang)
    return files


def write_purchase_order(order: PurchaseOrder, folder: Path, *, as_of: date,
                         lang: Language) -> dict[str, Path]:
    """``orders/<supplier>.csv`` and ``.xlsx`` of one order in ``folder``, keyed as
    :func:`write_purchase_orders` keys them."""
    stem = folder / "orders" / safe_filename(order.supplier)
    files = {f"orders/{order.supplier}": write_csv(_for_people(order.lines, lang),
                                                   stem.with_name(stem.name + ".csv"))}
    xlsx = stem.with_name(stem.name + ".xlsx")
    with atomic_write(xlsx, "wb") as handle:
        handle.write(_workbook(order, lang, as_of))
    files[f"purchase_orders/{order.supplier}"] = xlsx
    return files
