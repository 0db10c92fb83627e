"""Tables of the run store, for queries.

The schema itself is created and upgraded only by the Alembic migrations in
``flows/storage/migrations/versions``; keep these definitions in step with the latest revision.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["metadata", "notify_ledger", "run_outputs", "runs"]

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
