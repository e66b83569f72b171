"""episodes: when each came out (published_at), for My list's order and its new-episode badge

Revision ID: e9150de0a001
Revises: e7f1a2b3c401
Create Date: 2026-12-05 07:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import microdrama.db

revision: str = "e9150de0a001"
down_revision: str | None = "e7f1a2b3c401"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "episodes",
        sa.Column("published_at", microdrama.db.UTCDateTime(timezone=True), nullable=True),
    )
    # Episodes viewers can play (or will, once a scheduled series' time comes) came out when
    # they were uploaded or with their series, whichever is later: what My list read until
    # now. The others stay NULL until they come out.
    op.execute(
        """
        UPDATE episodes SET published_at = (
            SELECT CASE WHEN episodes.created_at > series.published_at
                        THEN episodes.created_at ELSE series.published_at END
            FROM series WHERE series.id = episodes.series_id
        )
        WHERE episodes.state = 'ready' AND episodes.series_id IN (
            SELECT id FROM series WHERE status = 'published' AND published_at IS NOT NULL
        )
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("episodes") as batch:
        batch.drop_column("published_at")
