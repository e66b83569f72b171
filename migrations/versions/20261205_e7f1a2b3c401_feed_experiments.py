"""feed experiments: a share of viewers served another feed order, and who was served which

Revision ID: e7f1a2b3c401
Revises: d15c0e5a0003
Create Date: 2026-12-05 06:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import microdrama.db

revision: str = "e7f1a2b3c401"
down_revision: str | None = "d15c0e5a0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feed_experiments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column(
            "treatment_order",
            sa.Enum(
                "for_you",
                "popularity",
                "newest",
                name="feedorder",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("share_percent", sa.Integer(), nullable=False),
        sa.Column("salt", sa.String(length=32), nullable=False),
        sa.Column("started_at", microdrama.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", microdrama.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("running", sa.Boolean(), nullable=True),
        sa.Column("started_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["started_by_id"],
            ["accounts.id"],
            name=op.f("fk_feed_experiments_started_by_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_experiments")),
        # At most one running: true while it runs, NULL after.
        sa.UniqueConstraint("running", name=op.f("uq_feed_experiments_running")),
    )
    op.create_table(
        "feed_exposures",
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column(
            "arm",
            sa.Enum(
                "for_you",
                "popularity",
                "newest",
                name="feedorder",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("first_served_at", microdrama.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_feed_exposures_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["feed_experiments.id"],
            name=op.f("fk_feed_exposures_experiment_id_feed_experiments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("experiment_id", "account_id", name=op.f("pk_feed_exposures")),
    )


def downgrade() -> None:
    op.drop_table("feed_exposures")
    op.drop_table("feed_experiments")
