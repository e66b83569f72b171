"""episodes of published series reviewed one by one: the refusal's reason

Revision ID: 5c2d9e81b7a4
Revises: a41c0e7b2f5d
Create Date: 2026-11-26 05:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5c2d9e81b7a4"
down_revision: str | None = "a41c0e7b2f5d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The new states `in_review` and `rejected` fit the existing VARCHAR(16) of `state`.
    op.add_column("episodes", sa.Column("review_note", sa.Text(), nullable=True))


def downgrade() -> None:
    op.execute("UPDATE episodes SET state = 'failed' WHERE state IN ('in_review', 'rejected')")
    with op.batch_alter_table("episodes") as batch:
        batch.drop_column("review_note")
