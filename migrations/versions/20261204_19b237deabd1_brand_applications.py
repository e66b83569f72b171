"""brand applications: a person asks to become a brand, an operator approves or refuses

Revision ID: 19b237deabd1
Revises: 5c2d9e81b7a4
Create Date: 2026-12-04 15:03:17
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import microdrama.db

revision: str = "19b237deabd1"
down_revision: str | None = "5c2d9e81b7a4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "brand_applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("company_name", sa.String(length=80), nullable=False),
        sa.Column("website", sa.String(length=300), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "approved",
                "refused",
                name="brandapplicationstatus",
                native_enum=False,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("refusal_reason", sa.String(length=500), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", microdrama.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", microdrama.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_brand_applications_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["accounts.id"],
            name=op.f("fk_brand_applications_decided_by_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_brand_applications")),
    )
    with op.batch_alter_table("brand_applications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_brand_applications_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            "uq_brand_applications_one_pending",
            ["account_id"],
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )


def downgrade() -> None:
    op.drop_table("brand_applications")  # its indexes go with it
