"""worker heartbeats: every transcode and AI worker renews its row while it runs

Revision ID: 0b5e7a110002
Revises: 0b5e7a110001
Create Date: 2026-12-05 16:20:00

Leases show only the workers holding a job; the heartbeat shows idle workers too, and a worker
that died stops renewing its row (ops/heartbeat.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from microdrama.db import UTCDateTime

revision: str = "0b5e7a110002"
down_revision: str | None = "0b5e7a110001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "worker_heartbeats",
        sa.Column("worker_id", sa.String(120), nullable=False),
        sa.Column("queue", sa.String(20), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("worker_id", name=op.f("pk_worker_heartbeats")),
    )


def downgrade() -> None:
    op.drop_table("worker_heartbeats")
