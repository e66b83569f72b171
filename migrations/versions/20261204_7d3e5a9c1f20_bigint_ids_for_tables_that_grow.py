"""bigint ids for the tables that grow with traffic (ledger, orders, purchases, attribution)

Revision ID: 7d3e5a9c1f20
Revises: 4b16e4048570
Create Date: 2026-12-04 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7d3e5a9c1f20"
down_revision: str | None = "4b16e4048570"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Primary keys whose sequences must count past 2^31-1, then the columns that refer to them.
KEYS = [
    ("ledger_transactions", "id"),
    ("ledger_entries", "id"),
    ("placement_events", "id"),
    ("purchases", "id"),
    ("cart_items", "id"),
    ("orders", "id"),
    ("order_lines", "id"),
]
REFERENCES = [
    ("ledger_entries", "transaction_id", False),
    ("bonus_lots", "transaction_id", False),
    ("unlocks", "ledger_transaction_id", True),
    ("payout_requests", "approve_transaction_id", True),
    ("payout_requests", "paid_transaction_id", True),
    ("order_lines", "order_id", False),
    ("orders", "purchase_id", True),
    ("vip_passes", "purchase_id", False),
]


def _retype(to: sa.types.TypeEngine[int], sequence_type: str) -> None:
    # SQLite's INTEGER is 64-bit already (and a primary key must stay INTEGER to be the
    # rowid): nothing to do there.
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in KEYS:
        op.alter_column(table, column, type_=to, existing_nullable=False)
        # SERIAL made the sequence `AS integer`: it would stop at 2^31-1 whatever the column.
        op.execute(
            f"DO $$ BEGIN EXECUTE format('ALTER SEQUENCE %s AS {sequence_type}', "
            f"pg_get_serial_sequence('{table}', '{column}')); END $$"
        )
    for table, column, nullable in REFERENCES:
        op.alter_column(table, column, type_=to, existing_nullable=nullable)


def upgrade() -> None:
    _retype(sa.BigInteger(), "bigint")


def downgrade() -> None:
    _retype(sa.Integer(), "integer")
