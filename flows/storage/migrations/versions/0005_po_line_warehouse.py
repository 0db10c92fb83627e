"""Purchase order lines carry the warehouse they ship to; a line is keyed by (SKU, warehouse)
within its PO.

With channel stock pools (the ``warehouses`` table) one PO can hold the same SKU twice, for
two warehouses (京东FBP仓 and 菜鸟仓): keyed by SKU alone, a re-run mixed the two lines up.
Lines of a plan without pools, and every line recorded before this revision, ship to ``''``
(no warehouse: the configured ship-to), so the unique key holds no NULL (two NULLs never
collide in a unique constraint on SQLite or PostgreSQL).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("po_lines") as batch:
        batch.add_column(sa.Column("warehouse", sa.String(255), nullable=False,
                                   server_default=""))
        batch.drop_constraint("uq_po_lines_po_sku", type_="unique")
        batch.create_unique_constraint("uq_po_lines_po_sku_warehouse",
                                       ["po_id", "sku", "warehouse"])


def downgrade() -> None:
    """Back to one line per (PO, SKU): fails while a PO holds a SKU for two warehouses."""
    with op.batch_alter_table("po_lines") as batch:
        batch.drop_constraint("uq_po_lines_po_sku_warehouse", type_="unique")
        batch.create_unique_constraint("uq_po_lines_po_sku", ["po_id", "sku"])
        batch.drop_column("warehouse")
