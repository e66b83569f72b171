"""placements removed_at: deleted placements keep their attribution history

Revision ID: 5b1e0c7d2a91
Revises: 38d6e988b099
Create Date: 2026-11-25 22:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import microdrama.db

revision: str = "5b1e0c7d2a91"
down_revision: str | None = "38d6e988b099"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("placements", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("removed_at", microdrama.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("placements", schema=None) as batch_op:
        batch_op.drop_column("removed_at")
