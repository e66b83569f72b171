"""writers' room: projects and the versions of their parts (bible, arc, cards, scripts)

Revision ID: b7a1e5000001
Revises: a1a0b5000001
Create Date: 2026-12-05 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import microdrama.db

revision: str = "b7a1e5000001"
down_revision: str | None = "a1a0b5000001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "writers_room_projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("premise", sa.Text(), nullable=False),
        sa.Column("trope", sa.String(length=40), nullable=False),
        sa.Column("tone", sa.String(length=80), nullable=False),
        sa.Column("episode_count", sa.Integer(), nullable=False),
        sa.Column("free_episodes", sa.Integer(), nullable=False),
        sa.Column("episode_seconds", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=True),
        sa.Column("created_at", microdrama.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", microdrama.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["accounts.id"],
            name=op.f("fk_writers_room_projects_owner_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["series_id"],
            ["series.id"],
            name=op.f("fk_writers_room_projects_series_id_series"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_writers_room_projects")),
        sa.UniqueConstraint("series_id", name=op.f("uq_writers_room_projects_series_id")),
    )
    op.create_index(
        op.f("ix_writers_room_projects_owner_id"),
        "writers_room_projects",
        ["owner_id"],
        unique=False,
    )
    op.create_table(
        "writers_room_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("part", sa.String(length=24), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=120), nullable=False),
        sa.Column("created_at", microdrama.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["writers_room_projects.id"],
            name=op.f("fk_writers_room_versions_project_id_writers_room_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_writers_room_versions")),
        sa.UniqueConstraint(
            "project_id",
            "part",
            "number",
            name=op.f("uq_writers_room_versions_project_id"),
        ),
    )


def downgrade() -> None:
    op.drop_table("writers_room_versions")
    op.drop_index(op.f("ix_writers_room_projects_owner_id"), table_name="writers_room_projects")
    op.drop_table("writers_room_projects")
