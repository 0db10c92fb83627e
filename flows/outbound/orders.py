"""The order desk: a run's order lines proposed into the order book, approved lines sent to
their suppliers, and the state of every open line refreshed.

Decisions:

* Nothing reaches a supplier unless it is approved: :func:`send_approved` builds each
  supplier's purchase order from the order book's approved lines (with the planner's edits),
  never from the run's files, and is the only caller of the supplier e-mail of a plan.
* The PO sent is the whole PO as it stands: every line of it approved so far (sent or not),
  numbered as in the order book, with the stable ``line_id`` and two empty columns,
  ``confirmed_qty`` and ``confirmed_date``, for the supplier to fill in and send back
  (``replenish confirm --file``). Adding lines to a PO already sent sends it again, marked
  revised by the ledger (:mod:`flows.outbound.delivery`).
* In dry run (``notify.supplier_mail.dry_run``) the message written to the outbox counts as
  sent: it is what the planner forwards. With supplier e-mail off, :func:`send_approved`
  refuses (a :class:`~flows.storage.orderbook.LifecycleError`): the lines stay approved.
* A plan run sends only the POs holding lines its auto-approval rules approved (a line a
  planner approved waits for the planner's own ``send``), and the whole PO as it stands.
* A plan run records its own suppliers table and product codes with its outputs
  (``po_suppliers``, ``po_products``), so sending later (the command line, the workbench)
  needs no second read of the dataset.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from flows.config import ApprovalSettings, PurchaseOrderSettings, Settings
from flows.i18n import language, localized_messages
from flows.outbound.delivery import DeliveryResult, deliver_supplier_orders
from flows.outbound.notify.ledger import StoreLedger
from flows.outbound.purchase_order import (
    PurchaseOrder,
    build_purchase_order,
    line_ship_to,
    po_number,
    write_purchase_order,
)
from flows.storage.orderbook import LifecycleError, OrderBook, ship_to
from flows.storage.store import RunStore
from replenishment.cpfr import line_exceptions, received_lines

__all__ = [
    "SENDABLE",
    "SendReport",
    "auto_approval",
    "auto_approved",
    "propose_run",
    "refresh_lines",
    "send_approved",
]

SENDABLE = ("approved", "sent", "confirmed", "partly_confirmed")
_SUPPLIER_COLUMNS = ("supplier", "name", "email")
_PRODUCT_COLUMNS = ("sku", "name", "supplier_sku", "status")


def auto_approval(orders: pd.DataFrame, rules: ApprovalSettings,
                  ) -> dict[tuple[str, str], str]:
    """(SKU, ship-to warehouse) -> the rule that approves its proposed line: a trusted
    supplier, or the line's own amount below ``auto_approve_below`` (none when the config
    sets no rule)."""
    approved: dict[tuple[str, str], str] = {}
    trusted = set(rules.trusted_suppliers)
    for sku, where, supplier, value in zip(
            orders["sku"].astype(str), ship_to(orders), orders["supplier"].astype(str),
            orders["line_value"].astype(float), strict=True):
        if supplier in trusted:
            approved[(sku, where)] = f"trusted supplier {supplier}"
        elif rules.auto_approve_below is not None and value < rules.auto_approve_below:
            approved[(sku, where)] = f"amount {value:,.2f} below {rules.auto_approve_below:,.2f}"
    return approved


def propose_run(settings: Settings, store: RunStore, run_id: str, as_of: pd.Timestamp,
                orders: pd.DataFrame, suppliers: pd.DataFrame,
                products: pd.DataFrame) -> list[str]:
    """Record a plan's order lines as proposals (auto-approved where the config says so) and
    keep the run's suppliers and product codes with its outputs; returns the line ids."""
    day = pd.Timestamp(as_of).date()
    prefix = settings.purchase_orders.number_prefix
    po_ids = {str(s): po_number(str(s), day, prefix) for s in orders["supplier"].unique()}
    store.save_outputs(run_id, {
        "po_suppliers": _columns(suppliers, _SUPPLIER_COLUMNS),
        "po_products": _columns(products, _PRODUCT_COLUMNS)})
    book = OrderBook(store)
    auto = auto_approval(orders, settings.approval)
    ids = book.propose(run_id, day, orders, po_ids, dict(auto))
    return ids


def _columns(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({c: frame[c].astype("string") if c in frame else pd.NA
                         for c in columns}, columns=list(columns))


def auto_approved(store: RunStore, ids: list[str]) -> list[str]:
    """Those of ``ids`` an auto-approval rule approved and nobody has sent yet."""
    lines = OrderBook(store).lines(line_ids=ids, statuses=["approved"])
    return lines.loc[lines["approval"].astype(str).str.startswith("auto"), "line_id"].tolist()


def refresh_lines(settings: Settings, store: RunStore, run_id: str, as_of: pd.Timestamp,
                  open_orders: pd.DataFrame) -> pd.DataFrame:
    """Mark received lines and return the open lines' exceptions as of ``as_of``
    (:func:`replenishment.cpfr.line_exceptions`, sentences in the run's language), kept with
    the run as ``order_exceptions``."""
    book = OrderBook(store)
    lines = book.lines()
    received = received_lines(lines, open_orders, as_of)
    if received:
        book.mark_received(received, "plan", pd.Timestamp(as_of).date())
        lines = book.lines()
    exceptions = localized_messages(line_exceptions(
        lines, open_orders, as_of, unconfirmed_after_days=settings.approval.unconfirmed_after_days,
        tolerance_share=settings.approval.tolerance_share), language(settings.locale))
    store.save_outputs(run_id, {"order_exceptions": exceptions})
    return exceptions


@dataclass(frozen=True)
class SendReport:
    """What :func:`send_approved` did: one delivery per PO, and the lines marked sent."""

    deliveries: list[DeliveryResult] = field(default_factory=list)
    sent_lines: list[str] = field(default_factory=list)


def send_approved(settings: Settings, store: RunStore, actor: str, *,
                  suppliers: list[str] | None = None, lines: list[str] | None = None,
                  outbox: Path | None = None, required: bool = True) -> SendReport:
    """Send every PO that has approved lines not yet sent (of ``suppliers``, or holding one
    of ``lines``, when given).

    ``required``: refuse (:class:`LifecycleError`) when supplier e-mail is off; a plan run
    passes False and sends nothing then."""
    mail = settings.notify.supplier_mail
    if not mail.enabled:
        if required:
            raise LifecycleError(
                "supplier e-mail is off (notify.supplier_mail.enabled: false): turn it on, "
                "with dry_run: true to write the messages to the outbox instead of sending")
        return SendReport()
    book = OrderBook(store)
    waiting = book.lines(statuses=["approved"])
    if suppliers is not None:
        waiting = waiting[waiting["supplier"].isin(suppliers)]
    if lines is not None:
        waiting = waiting[waiting["line_id"].isin(lines)]
    report = SendReport()
    for po_id in sorted(waiting["po_id"].unique()):
        po = book.lines(po_id=po_id, statuses=SENDABLE)
        result = _send_po(settings, store, po, outbox or settings.output_dir / "outbox")
        report.deliveries.append(result)
        if result.status in ("sent", "written", "unchanged"):
            book.mark_sent(po["line_id"], actor, {"po_id": po_id, "delivery": result.status,
                                                   "message": result.message})
            report.sent_lines.extend(po.loc[po["status"] == "approved", "line_id"])
    return report


def _latest_output(store: RunStore, run_ids: list[str], name: str) -> pd.DataFrame | None:
    for run_id in run_ids:
        frame = store.load_output(run_id, name)
        if frame is not None:
            return frame
    return None


def _send_po(settings: Settings, store: RunStore, lines: pd.DataFrame,
             outbox: Path) -> DeliveryResult:
    supplier, day = str(lines["supplier"].iloc[0]), lines["as_of"].iloc[0].date()
    runs = list(dict.fromkeys(lines.sort_values("updated_at", ascending=False)["run_id"]))
    suppliers = _latest_output(store, runs, "po_suppliers")
    if suppliers is None or supplier not in set(suppliers["supplier"]):
        return DeliveryResult(supplier, "skipped", message="supplier not in the suppliers table")
    products = _latest_output(store, runs, "po_products")
    forecast = _latest_output(store, runs, "order_forecast")
    forecast = (forecast[forecast["supplier"] == supplier] if forecast is not None
                else pd.DataFrame(columns=["sku", "week", "qty"]))
    lang = language(settings.locale)
    order = build_purchase_order(supplier, _plan_lines(lines), forecast, as_of=day,
                                 products=products, options=settings.purchase_orders)
    order = _with_reply_columns(order, lines, settings.purchase_orders)
    with tempfile.TemporaryDirectory(prefix="replenish-po-") as folder:
        files = write_purchase_order(order, Path(folder), as_of=day, lang=lang)
        paths = [files[f"purchase_orders/{supplier}"], files[f"orders/{supplier}"]]
        [result] = deliver_supplier_orders(
            suppliers, {supplier: paths}, settings.notify.supplier_mail, brand=settings.brand,
            as_of=day, outbox=outbox, ledger=StoreLedger(store), lang=lang)
    return result


def _plan_lines(lines: pd.DataFrame) -> pd.DataFrame:
    """Order book lines in the plan's order line columns, with the planner's edits (and the
    ship-to ``warehouse`` when a line names one)."""
    out = pd.DataFrame({
        "sku": lines["sku"].astype(str), "name": lines["name"].fillna(""),
        "qty": lines["qty"].round().astype(int), "case_pack": lines["case_pack"],
        "unit_cost": lines["unit_cost"], "line_value": (lines["qty"] * lines["unit_cost"]).round(2),
        "order_date": lines["order_date"], "expected_arrival": lines["delivery_date"],
    })
    if lines["warehouse"].notna().any():
        out["warehouse"] = lines["warehouse"]
    return out.reset_index(drop=True)


def _with_reply_columns(order: PurchaseOrder, lines: pd.DataFrame,
                        options: PurchaseOrderSettings) -> PurchaseOrder:
    """The PO with the order book's line numbers and ids, and the columns the supplier fills
    in (see the module's decisions); a line is found by SKU and ship-to (one PO may ship a
    SKU to two warehouses)."""
    keys = list(zip(lines["sku"].astype(str), line_ship_to(lines, options), strict=True))
    numbers = dict(zip(keys, lines["line_no"].astype(int), strict=True))
    ids = dict(zip(keys, lines["line_id"].astype(str), strict=True))
    table = order.lines.copy()
    found = list(zip(table["sku"].astype(str), table["ship_to"].astype(str), strict=True))
    table["line"] = [numbers.get(k) for k in found]
    table.insert(2, "line_id", [ids.get(k) for k in found])
    table["confirmed_qty"] = pd.NA
    table["confirmed_date"] = pd.NaT
    return PurchaseOrder(order.supplier, order.number, table.sort_values("line")
                         .reset_index(drop=True), order.forecast)
