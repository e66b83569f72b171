"""rate limit hits: sign-in limits and rebuild leases counted for every process at once

Revision ID: 5a7e1b0c0001
Revises: e1e0da7a0001
Create Date: 2026-12-05 21:30:00

The sign-in limits counted login_attempts after each password check, so concurrent guesses
(in one process or several) all passed before any was counted. A hit is now taken before the
check, atomically with it (rate_limits.py); with MICRODRAMA_REDIS_URL the hits live in Redis.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from microdrama.db import UTCDateTime

revision: str = "5a7e1b0c0001"
down_revision: str | None = "e1e0da7a0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_hits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(120), nullable=False),
        sa.Column("hit_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_limit_hits")),
    )
    op.create_index("ix_rate_limit_hits_key_time", "rate_limit_hits", ["key", "hit_at"])
    op.create_index(op.f("ix_rate_limit_hits_hit_at"), "rate_limit_hits", ["hit_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_rate_limit_hits_hit_at"), table_name="rate_limit_hits")
    op.drop_index("ix_rate_limit_hits_key_time", table_name="rate_limit_hits")
    op.drop_table("rate_limit_hits")
