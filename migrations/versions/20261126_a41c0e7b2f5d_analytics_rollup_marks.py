"""analytics rollup marks; playback_events ids never reused on SQLite

Revision ID: a41c0e7b2f5d
Revises: 702f4d5dc5be
Create Date: 2026-11-26 01:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import microdrama.db

revision: str = "a41c0e7b2f5d"
down_revision: str | None = "702f4d5dc5be"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analytics_rollup_marks",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", microdrama.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_analytics_rollup_marks")),
    )
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    # SQLite folds events into episode_views after the fact, by id: ids must only grow.
    with op.batch_alter_table(
        "playback_events", recreate="always", table_kwargs={"sqlite_autoincrement": True}
    ):
        pass
    # Until now every event was folded as it was stored: the mark starts at the newest.
    op.execute(
        "INSERT INTO analytics_rollup_marks (name, last_event_id, updated_at) "
        "SELECT 'episode_views', coalesce(max(id), 0), strftime('%Y-%m-%d %H:%M:%f000', 'now') "
        "FROM playback_events"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("playback_events", recreate="always"):
            pass
    op.drop_table("analytics_rollup_marks")
