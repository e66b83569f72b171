"""sessions remember what signed in (user agent) and from where (address), for the account page

Revision ID: 4b16e4048570
Revises: 19b237deabd1
Create Date: 2026-12-04 15:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4b16e4048570"
down_revision: str | None = "19b237deabd1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Sessions started before this revision show as "Unknown device".
    op.add_column("auth_sessions", sa.Column("user_agent", sa.String(length=512), nullable=True))
    op.add_column("auth_sessions", sa.Column("ip", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("auth_sessions") as batch:
        batch.drop_column("ip")
        batch.drop_column("user_agent")
