"""jobs: the id of the request that queued each transcode and AI job

Revision ID: 0b5e7a110001
Revises: b7a1e5000001
Create Date: 2026-12-05 15:30:00

A request's X-Request-ID (or the id the app gave it) is stored with the jobs it queues, so the
worker's log lines and the operator's status page lead back to the request.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0b5e7a110001"
down_revision: str | None = "b7a1e5000001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("transcode_jobs", sa.Column("request_id", sa.String(64), nullable=True))
    op.add_column("ai_jobs", sa.Column("request_id", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ai_jobs") as batch:
        batch.drop_column("request_id")
    with op.batch_alter_table("transcode_jobs") as batch:
        batch.drop_column("request_id")
