"""discovery: My list (follows), ranking charts, the recommender's candidates and runs

Revision ID: d15c0e5a0001
Revises: 7d3e5a9c1f20
Create Date: 2026-12-05 02:20:07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import microdrama.db

revision: str = "d15c0e5a0001"
down_revision: str | None = "7d3e5a9c1f20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recs_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trained_at", microdrama.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("algorithm", sa.String(length=40), nullable=False),
        sa.Column("viewers", sa.Integer(), nullable=False),
        sa.Column("series", sa.Integer(), nullable=False),
        sa.Column("interactions", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recs_runs")),
    )
    op.create_table(
        "ranking_entries",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("chart", sa.String(length=16), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("genre", sa.String(length=60), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("previous_rank", sa.Integer(), nullable=True),
        sa.Column("computed_at", microdrama.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["series.id"],
            name=op.f("fk_ranking_entries_series_id_series"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "day", "chart", "period", "genre", "series_id", name=op.f("pk_ranking_entries")
        ),
    )
    with op.batch_alter_table("ranking_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ranking_entries_chart", ["day", "chart", "period", "genre", "rank"], unique=False
        )

    op.create_table(
        "recommendations",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_recommendations_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["series.id"],
            name=op.f("fk_recommendations_series_id_series"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "series_id", name=op.f("pk_recommendations")),
    )
    op.create_table(
        "series_follows",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("followed_at", microdrama.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("seen_episodes", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_series_follows_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["series.id"],
            name=op.f("fk_series_follows_series_id_series"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "series_id", name=op.f("pk_series_follows")),
    )
    with op.batch_alter_table("series_follows", schema=None) as batch_op:
        batch_op.create_index("ix_series_follows_series", ["series_id"], unique=False)

    op.create_table(
        "similar_series",
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("other_series_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["other_series_id"],
            ["series.id"],
            name=op.f("fk_similar_series_other_series_id_series"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["series.id"],
            name=op.f("fk_similar_series_series_id_series"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("series_id", "other_series_id", name=op.f("pk_similar_series")),
    )


def downgrade() -> None:
    op.drop_table("similar_series")
    with op.batch_alter_table("series_follows", schema=None) as batch_op:
        batch_op.drop_index("ix_series_follows_series")

    op.drop_table("series_follows")
    op.drop_table("recommendations")
    with op.batch_alter_table("ranking_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_ranking_entries_chart")

    op.drop_table("ranking_entries")
    op.drop_table("recs_runs")
