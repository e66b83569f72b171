"""subtitle tracks: drafts the creator reviews before players are offered them

Revision ID: c4a710e50001
Revises: f0a7c0de0001
Create Date: 2026-12-05 09:40:00

Captions made from an episode's audio and machine translations are drafts: the studio's cue
editor shows them, players do not, until the creator publishes them. Existing tracks were
uploaded or typed by their creators and stay published.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "c4a710e50001"
down_revision: str | None = "f0a7c0de0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subtitle_tracks") as batch:
        batch.add_column(
            sa.Column("draft", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("subtitle_tracks") as batch:
        batch.drop_column("draft")
