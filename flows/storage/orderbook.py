"""The order book: every purchase order line through its lifecycle, kept in the run store.

``proposed -> approved | rejected -> sent -> confirmed | partly_confirmed | declined ->
received``; ``withdrawn`` is a proposal a later plan replaced before anyone approved it.

Decisions:

* A PO is one supplier's order of one as-of date; its number is given by the caller
  (:func:`flows.outbound.purchase_order.po_number`), so a re-run of the same day revises the
  same PO. A line's id is ``<PO>-<line number, 3 digits>``; a (SKU, ship-to warehouse) gets
  its line number when it is first proposed on that PO and keeps it for good (new ones of a
  re-run get the next numbers), so a supplier's reply naming a line by its number means the
  same line whatever happened since.
* The warehouse is the plan's ``warehouse`` of the order line (its stock pool, with a
  ``warehouses`` table), ``''`` without one (stored so, the unique key (PO, SKU, warehouse)
  holds no NULL; :meth:`OrderBook.lines` gives it as missing). One PO may hold a SKU for
  京东FBP仓 and for 菜鸟仓: two lines, each re-planned, approved and answered on its own.
* A re-run of the same day updates only the lines still proposed and not edited; a line a
  planner edited, approved, rejected or sent stays as it is; proposed lines the new plan no
  longer has are withdrawn. A new day's proposals withdraw the earlier days' lines still
  awaiting approval: they were planned on older stock.
* Only approved lines are ever sent (:mod:`flows.outbound.orders`); auto-approval rules
  approve lines as they are proposed and the line says which rule did it.
* Edits are checked here, where they are stored: a quantity is a whole number of units >= 0
  and whole cases; a delivery date falls after the PO's date. Only proposed and approved
  lines can be edited, approved or rejected: what was sent is the supplier's to answer.
* Every change is an event (who, when, what; an edit keeps the old and the new value).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any, Literal

import pandas as pd
import sqlalchemy as sa

from flows.errors import UserError
from flows.storage.store import RunStore, StoreError
from flows.storage.store_tables import po_events, po_lines

__all__ = ["BOOK_COLUMNS", "EDITABLE", "AutoKey", "LifecycleError", "OrderBook", "line_id",
           "ship_to"]

EDITABLE = ("proposed", "approved")
BOOK_COLUMNS = [c.name for c in po_lines.columns]
_DATES = ("as_of", "order_date", "proposed_date", "delivery_date", "confirmed_date")
_MOMENTS = ("approved_at", "sent_at", "replied_at", "received_at", "updated_at")
AutoKey = str | tuple[str, str]
"""An auto-approval rule's key: a (SKU, warehouse) line, or a SKU for all its warehouses."""


class LifecycleError(UserError, ValueError):
    """An order line action that cannot be done: unknown line, wrong status, bad edit."""


def line_id(po_id: str, line_no: int) -> str:
    """``PO-20250302-S1-001``: the PO number and the line number."""
    return f"{po_id}-{line_no:03d}"


def ship_to(orders: pd.DataFrame) -> pd.Series:
    """Each order line's ship-to warehouse as the order book keys it: the plan's
    ``warehouse`` (its stock pool), ``''`` when the plan has no pools."""
    if "warehouse" not in orders:
        return pd.Series("", index=orders.index, dtype=object)
    where = orders["warehouse"]
    return where.where(where.notna(), "").astype(str).str.strip()


def _now() -> datetime:
    return datetime.now(UTC)


def _day(value: object) -> date:
    return pd.Timestamp(value).date()  # type: ignore[arg-type]


class OrderBook:
    """Purchase order lines of the run store ``store`` (which stays open while it is used)."""

    def __init__(self, store: RunStore) -> None:
        self._store = store
        self._engine = store.engine

    @contextmanager
    def _writing(self, action: str) -> Iterator[sa.Connection]:
        try:
            with self._engine.begin() as connection:
                yield connection
        except sa.exc.SQLAlchemyError as err:
            cause = getattr(err, "orig", None) or err
            raise StoreError(f"run store {self._store.display_url}: cannot {action}: "
                             f"{(str(cause).splitlines() or [''])[0]}") from err

    def lines(self, *, supplier: str | None = None, statuses: Iterable[str] | None = None,
              po_id: str | None = None, line_ids: Iterable[str] | None = None,
              ) -> pd.DataFrame:
        """Lines (:data:`BOOK_COLUMNS`) by supplier, PO and line number; dates as
        timestamps, moments in UTC."""
        query = sa.select(po_lines).order_by(po_lines.c.supplier, po_lines.c.po_id,
                                             po_lines.c.line_no)
        if supplier is not None:
            query = query.where(po_lines.c.supplier == supplier)
        if statuses is not None:
            query = query.where(po_lines.c.status.in_(list(statuses)))
        if po_id is not None:
            query = query.where(po_lines.c.po_id == po_id)
        if line_ids is not None:
            query = query.where(po_lines.c.line_id.in_(list(line_ids)))
        with self._writing("read the order book") as connection:
            rows = connection.execute(query).mappings().all()
        frame = pd.DataFrame([dict(r) for r in rows], columns=BOOK_COLUMNS)
        for column in _DATES:
            frame[column] = pd.to_datetime(frame[column])
        for column in _MOMENTS:
            frame[column] = pd.to_datetime(frame[column], utc=True)
        for column in ("case_pack", "unit_cost", "proposed_qty", "qty", "confirmed_qty"):
            frame[column] = frame[column].astype(float)
        frame["warehouse"] = [w if w else None for w in frame["warehouse"]]
        return frame

    def events(self, line_ids: Iterable[str] | None = None) -> pd.DataFrame:
        """What happened to lines (all when ``line_ids`` is None), oldest first."""
        query = sa.select(po_events).order_by(po_events.c.event_id)
        if line_ids is not None:
            query = query.where(po_events.c.line_id.in_(list(line_ids)))
        with self._writing("read the order book's history") as connection:
            rows = connection.execute(query).mappings().all()
        return pd.DataFrame([dict(r) for r in rows],
                            columns=[c.name for c in po_events.columns])

    def propose(self, run_id: str, as_of: date, orders: pd.DataFrame,
                po_ids: Mapping[str, str], auto: Mapping[AutoKey, str] | None = None,
                ) -> list[str]:
        """Record a plan's order lines (``supplier, sku, name, qty, case_pack, unit_cost,
        order_date, expected_arrival`` and, with stock pools, ``warehouse``) as proposals on
        the POs ``po_ids`` (supplier -> PO number); ``auto`` maps a (SKU, warehouse) of a new
        or renewed proposal, or a SKU for all its warehouses, to the auto-approval rule that
        approves it. Returns the ids of the lines this run proposes."""
        day, now = _day(as_of), _now()
        with self._writing("record the proposed orders") as connection:
            self._withdraw_older(connection, day, now)
            ids: list[str] = []
            for supplier, part in orders.groupby("supplier", sort=True):
                ordered = part.assign(_ship_to=ship_to(part)).sort_values(
                    ["sku", "_ship_to"], kind="stable")
                ids += self._propose_po(connection, run_id, day, po_ids[str(supplier)],
                                        ordered, now)
            for line in self._auto_candidates(connection, ids, auto or {}):
                self._set_decision(connection, [line[0]], "approved", "auto", now,
                                   how=f"auto: {line[1]}")
        return ids

    def _withdraw_older(self, connection: sa.Connection, day: date, now: datetime) -> None:
        stale = [str(r.line_id) for r in connection.execute(sa.select(
            po_lines.c.line_id).where(po_lines.c.status == "proposed",
                                      po_lines.c.as_of < day)).all()]
        self._update(connection, stale, {"status": "withdrawn"}, "withdrawn", "plan", now,
                     {"reason": f"a plan of {day} replaced it"})

    def _propose_po(self, connection: sa.Connection, run_id: str, day: date, po_id: str,
                    part: pd.DataFrame, now: datetime) -> list[str]:
        existing = {(str(r.sku), str(r.warehouse)): r for r in connection.execute(
            sa.select(po_lines).where(po_lines.c.po_id == po_id)).all()}
        next_no = max((int(r.line_no) for r in existing.values()), default=0) + 1
        ids: list[str] = []
        for row in part.to_dict("records"):
            sku, where = str(row["sku"]), str(row["_ship_to"])
            values = {"run_id": run_id, "proposed_qty": float(row["qty"]),
                      "qty": float(row["qty"]), "proposed_date": _day(row["expected_arrival"]),
                      "delivery_date": _day(row["expected_arrival"]),
                      "order_date": _day(row["order_date"]), "updated_at": now,
                      "case_pack": float(row["case_pack"]), "unit_cost": float(row["unit_cost"]),
                      "name": str(row.get("name") or "")}
            found = existing.pop((sku, where), None)
            if found is None:
                ids.append(self._insert(connection, po_id, next_no, day, str(row["supplier"]),
                                        (sku, where), values))
                next_no += 1
            elif found.status in ("proposed", "withdrawn") and not _edited(found):
                self._update(connection, [found.line_id], {**values, "status": "proposed"},
                             "proposed", "plan", now, {"run_id": run_id, "qty": values["qty"]})
                ids.append(str(found.line_id))
        gone = [r.line_id for r in existing.values() if r.status == "proposed" and not _edited(r)]
        self._update(connection, gone, {"status": "withdrawn"}, "withdrawn", "plan", now,
                     {"reason": f"run {run_id} no longer orders it"})
        return ids

    def _insert(self, connection: sa.Connection, po_id: str, line_no: int, day: date,
                supplier: str, key: tuple[str, str], values: dict[str, Any]) -> str:
        new_id = line_id(po_id, line_no)
        connection.execute(po_lines.insert().values(
            line_id=new_id, po_id=po_id, line_no=line_no, as_of=day, supplier=supplier,
            sku=key[0], warehouse=key[1], status="proposed", **values))
        _event(connection, [new_id], "proposed", "plan", values["updated_at"],
               {"run_id": values["run_id"], "qty": values["qty"],
                "delivery_date": values["delivery_date"].isoformat()})
        return new_id

    def _auto_candidates(self, connection: sa.Connection, ids: list[str],
                         auto: Mapping[AutoKey, str]) -> list[tuple[str, str]]:
        if not auto or not ids:
            return []
        rows = connection.execute(sa.select(
            po_lines.c.line_id, po_lines.c.sku, po_lines.c.warehouse).where(
            po_lines.c.line_id.in_(ids), po_lines.c.status == "proposed")).all()
        rules = [(str(r.line_id), auto.get((str(r.sku), str(r.warehouse)),
                                           auto.get(str(r.sku)))) for r in rows]
        return [(line, rule) for line, rule in rules if rule is not None]

    def _update(self, connection: sa.Connection, ids: Iterable[str], values: dict[str, Any],
                event: str, actor: str, now: datetime, detail: dict[str, Any]) -> None:
        ids = list(ids)
        if not ids:
            return
        connection.execute(po_lines.update().where(po_lines.c.line_id.in_(ids))
                           .values({**values, "updated_at": now}))
        _event(connection, ids, event, actor, now, detail)

    def _checked(self, connection: sa.Connection, ids: Iterable[str],
                 allowed: tuple[str, ...], action: str) -> list[sa.Row[Any]]:
        ids = list(ids)
        rows = connection.execute(sa.select(po_lines).where(po_lines.c.line_id.in_(ids))).all()
        found = {str(r.line_id): r for r in rows}
        missing = [i for i in ids if i not in found]
        if missing:
            raise LifecycleError(f"no purchase order line {', '.join(missing)} in the order "
                                 "book; expected a line id such as PO-20250302-S1-001")
        wrong = [f"{i} is {found[i].status}" for i in ids if found[i].status not in allowed]
        if wrong:
            raise LifecycleError(f"cannot {action} {'; '.join(wrong)}: expected lines that are "
                                 f"{' or '.join(allowed)}")
        return [found[i] for i in ids]

    def edit(self, line: str, actor: str, *, qty: float | None = None,
             delivery: date | None = None) -> None:
        """Change a line's quantity and/or delivery date (see the module's decisions)."""
        with self._writing("edit an order line") as connection:
            [row] = self._checked(connection, [line], EDITABLE, "edit")
            values: dict[str, Any] = {}
            detail: dict[str, Any] = {}
            if qty is not None and float(qty) != float(row.qty):
                _check_qty(line, qty, float(row.case_pack))
                values["qty"], detail["qty"] = float(qty), [float(row.qty), float(qty)]
            if delivery is not None and delivery != row.delivery_date:
                if delivery <= row.as_of:
                    raise LifecycleError(f"line {line}: delivery date {delivery} is not after "
                                         f"the order's date {row.as_of}; expected a later date")
                values["delivery_date"] = delivery
                detail["delivery_date"] = [row.delivery_date.isoformat(), delivery.isoformat()]
            self._update(connection, [line], values, "edited", actor, _now(), detail)

    def decide(self, ids: Iterable[str], decision: Literal["approved", "rejected"],
               actor: str) -> list[str]:
        """Approve or reject proposed or approved lines; returns the ids changed."""
        ids = list(dict.fromkeys(ids))
        with self._writing(f"record lines as {decision}") as connection:
            self._checked(connection, ids, EDITABLE, "approve or reject")
            self._set_decision(connection, ids, decision, actor, _now(), how="manual")
        return ids

    def _set_decision(self, connection: sa.Connection, ids: list[str], decision: str,
                      actor: str, now: datetime, how: str) -> None:
        values = ({"status": decision, "approved_by": actor, "approved_at": now,
                   "approval": how} if decision == "approved"
                  else {"status": decision, "approved_by": None, "approved_at": None,
                        "approval": None})
        self._update(connection, ids, values, decision, actor, now, {"how": how})

    def mark_sent(self, ids: Iterable[str], actor: str, detail: Mapping[str, Any]) -> None:
        """Record approved lines as sent (or a sent line's PO as sent again)."""
        ids = list(ids)
        now = _now()
        with self._writing("record sent orders") as connection:
            self._checked(connection, ids, ("approved", "sent", "confirmed",
                                            "partly_confirmed", "declined"), "send")
            fresh = [str(r.line_id) for r in connection.execute(sa.select(
                po_lines.c.line_id).where(po_lines.c.line_id.in_(ids),
                                          po_lines.c.status == "approved")).all()]
            self._update(connection, fresh, {"status": "sent", "sent_at": now}, "sent", actor,
                         now, dict(detail))

    def record_replies(self, replies: pd.DataFrame, actor: str, source: str) -> None:
        """Store matched answers (``line_id, confirmed_qty, confirmed_date, status``; see
        :func:`replenishment.cpfr.match_replies`)."""
        now = _now()
        with self._writing("record the supplier's reply") as connection:
            for row in replies.to_dict("records"):
                confirmed = row["confirmed_date"]
                values = {"status": row["status"], "confirmed_qty": float(row["confirmed_qty"]),
                          "replied_at": now,
                          "confirmed_date": None if pd.isna(confirmed) else _day(confirmed)}
                self._update(connection, [str(row["line_id"])], values, str(row["status"]),
                             actor, now, {"source": source, "confirmed_qty": float(
                                 row["confirmed_qty"]), "confirmed_date": None if values[
                                 "confirmed_date"] is None else str(values["confirmed_date"])})

    def mark_received(self, ids: Iterable[str], actor: str, as_of: date) -> None:
        """Record open lines as received (their due date came and the ERP no longer lists
        them as open; :func:`replenishment.cpfr.received_lines`)."""
        now = _now()
        with self._writing("record received orders") as connection:
            self._update(connection, list(ids), {"status": "received", "received_at": now},
                         "received", actor, now, {"as_of": str(as_of)})


def _edited(row: sa.Row[Any]) -> bool:
    return bool(float(row.qty) != float(row.proposed_qty)
                or row.delivery_date != row.proposed_date)


def _check_qty(line: str, qty: float, case_pack: float) -> None:
    pack = case_pack if case_pack > 0 else 1.0
    if not math.isfinite(qty) or qty < 0 or qty != int(qty) or (qty / pack) % 1:
        raise LifecycleError(f"line {line}: quantity {qty:g} is not a whole number of cases; "
                             f"expected a multiple of the case pack {pack:g} (0 or more)")


def _event(connection: sa.Connection, ids: Iterable[str], event: str, actor: str,
           now: datetime, detail: Mapping[str, Any]) -> None:
    rows = [{"line_id": i, "event": event, "actor": actor[:255] or "?", "at": now,
             "detail": dict(detail)} for i in ids]
    if rows:
        connection.execute(po_events.insert(), rows)
