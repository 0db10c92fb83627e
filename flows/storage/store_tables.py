"""Tables of the run store, for queries.

The schema itself is created and upgraded only by the Alembic migrations in
``flows/storage/migrations/versions``; keep these definitions in step with the latest revision.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["metadata", "notify_ledger", "po_events", "po_lines", "run_outputs", "runs"]

metadata = sa.MetaData()

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("config_hash", sa.String(64), nullable=False),
    # One digest of all input hashes, so the idempotency key fits a unique constraint.
    sa.Column("inputs_hash", sa.String(64), nullable=False),
    sa.Column("input_hashes", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("timings", sa.JSON, nullable=False),
    sa.Column("error", sa.Text),
    # The process that began the latest attempt, to tell a killed run from a running one.
    sa.Column("pid", sa.Integer),
    sa.Column("host", sa.String(255)),
    sa.UniqueConstraint("kind", "as_of", "config_hash", "inputs_hash", name="uq_runs_key"),
    sa.Index("ix_runs_kind_as_of", "kind", "as_of"),
)

run_outputs = sa.Table(
    "run_outputs",
    metadata,
    sa.Column(
        "run_id",
        sa.String(64),
        sa.ForeignKey("runs.run_id", ondelete="CASCADE", name="fk_run_outputs_run_id"),
        primary_key=True,
    ),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("format", sa.String(16), nullable=False),
    # The run attempt that saved this output; older attempts' leftovers are dropped on finish.
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("n_rows", sa.Integer, nullable=False),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
)

# What was sent where: (target, item) -> fingerprint of what was sent, for every host sharing
# the store. A target is "team|label" of a digest or "supplier-mail|SUPPLIER"; an item is an
# alert id or an as-of date.
notify_ledger = sa.Table(
    "notify_ledger",
    metadata,
    sa.Column("target", sa.String(512), primary_key=True),
    sa.Column("item", sa.String(255), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
)

# Purchase order lines through their lifecycle (flows/storage/orderbook.py): proposed by a run,
# approved or rejected by a planner (or an auto-approval rule), sent, answered by the supplier,
# received. One row per line, keyed by its stable id (PO number and line number) and unique by
# (PO, SKU, warehouse): the ship-to warehouse of a plan with stock pools, '' without (revision
# 0005); what changed when and by whom is in po_events.
po_lines = sa.Table(
    "po_lines",
    metadata,
    sa.Column("line_id", sa.String(96), primary_key=True),
    sa.Column("po_id", sa.String(64), nullable=False),
    sa.Column("line_no", sa.Integer, nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("as_of", sa.Date, nullable=False),
    sa.Column("supplier", sa.String(255), nullable=False),
    sa.Column("sku", sa.String(255), nullable=False),
    sa.Column("name", sa.Text),
    sa.Column("case_pack", sa.Float, nullable=False),
    sa.Column("unit_cost", sa.Float, nullable=False),
    sa.Column("proposed_qty", sa.Float, nullable=False),
    sa.Column("qty", sa.Float, nullable=False),
    sa.Column("order_date", sa.Date, nullable=False),
    sa.Column("proposed_date", sa.Date, nullable=False),
    sa.Column("delivery_date", sa.Date, nullable=False),
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("approved_by", sa.String(255)),
    sa.Column("approved_at", sa.DateTime(timezone=True)),
    sa.Column("approval", sa.String(255)),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.Column("confirmed_qty", sa.Float),
    sa.Column("confirmed_date", sa.Date),
    sa.Column("replied_at", sa.DateTime(timezone=True)),
    sa.Column("received_at", sa.DateTime(timezone=True)),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("warehouse", sa.String(255), nullable=False, server_default=""),
    sa.UniqueConstraint("po_id", "sku", "warehouse", name="uq_po_lines_po_sku_warehouse"),
    sa.Index("ix_po_lines_status", "status"),
    sa.Index("ix_po_lines_supplier", "supplier"),
)

po_events = sa.Table(
    "po_events",
    metadata,
    sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("line_id", sa.String(96), nullable=False),
    sa.Column("event", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("detail", sa.JSON, nullable=False),
    sa.Index("ix_po_events_line_id", "line_id"),
)
