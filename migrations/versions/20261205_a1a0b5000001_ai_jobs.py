"""ai jobs: the AI worker's queue (writers' room, table reads, captions, translations)

Revision ID: a1a0b5000001
Revises: c4a710e50001
Create Date: 2026-12-05 09:45:00

Each job runs in a child process of the AI worker, claimed with a lease like a transcode job;
the creator follows its progress and message, and may cancel it (cancel_requested).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import microdrama.db

revision: str = "a1a0b5000001"
down_revision: str | None = "c4a710e50001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ai_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "writers_room",
                "table_read",
                "captions",
                "translation",
                name="aijobkind",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "queued",
                "running",
                "done",
                "failed",
                "cancelled",
                name="aijobstate",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.String(length=120), nullable=True),
        sa.Column("lease_expires_at", microdrama.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("created_at", microdrama.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", microdrama.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", microdrama.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["accounts.id"],
            name=op.f("fk_ai_jobs_owner_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ai_jobs")),
    )
    op.create_index("ix_ai_jobs_claimable", "ai_jobs", ["state", "lease_expires_at"])
    op.create_index("ix_ai_jobs_owner_created", "ai_jobs", ["owner_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_ai_jobs_owner_created", table_name="ai_jobs")
    op.drop_index("ix_ai_jobs_claimable", table_name="ai_jobs")
    op.drop_table("ai_jobs")
