"""Purchase order lines through their lifecycle, and what happened to each (who, when, what).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "po_lines",
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
        sa.UniqueConstraint("po_id", "sku", name="uq_po_lines_po_sku"),
    )
    op.create_index("ix_po_lines_status", "po_lines", ["status"])
    op.create_index("ix_po_lines_supplier", "po_lines", ["supplier"])
    op.create_table(
        "po_events",
        sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("line_id", sa.String(96), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_index("ix_po_events_line_id", "po_events", ["line_id"])


def downgrade() -> None:
    op.drop_index("ix_po_events_line_id", table_name="po_events")
    op.drop_table("po_events")
    op.drop_index("ix_po_lines_supplier", table_name="po_lines")
    op.drop_index("ix_po_lines_status", table_name="po_lines")
    op.drop_table("po_lines")
