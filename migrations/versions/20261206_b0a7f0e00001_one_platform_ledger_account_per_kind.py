"""one platform ledger account per kind and currency

Revision ID: b0a7f0e00001
Revises: 5a7e1b0c0001
Create Date: 2026-12-06 02:00:00

The platform's ledger accounts (promotions, platform revenue, ...) have no owner, and the
unique constraint on (kind, owner_id, currency) treats NULL owners as distinct: two processes
selling for the first time at once each created one, and from then on every coin unlock
failed ("more than one row returned by a subquery"). A partial unique index closes it; any
duplicates already made are merged into the oldest first (their entries and payout requests
moved over, balances added up), so the books stay as they were.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b0a7f0e00001"
down_revision: str | None = "5a7e1b0c0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "uq_ledger_accounts_platform_kind"


def upgrade() -> None:
    conn = op.get_bind()
    groups = conn.execute(
        sa.text(
            "SELECT kind, currency, MIN(id) FROM ledger_accounts WHERE owner_id IS NULL "
            "GROUP BY kind, currency HAVING COUNT(*) > 1"
        )
    ).all()
    for kind, currency, keep in groups:
        extra = [
            row[0]
            for row in conn.execute(
                sa.text(
                    "SELECT id FROM ledger_accounts WHERE owner_id IS NULL AND kind = :kind "
                    "AND currency = :currency AND id <> :keep"
                ),
                {"kind": kind, "currency": currency, "keep": keep},
            )
        ]
        for duplicate in extra:
            moved = {"keep": keep, "duplicate": duplicate}
            conn.execute(
                sa.text(
                    "UPDATE ledger_entries SET ledger_account_id = :keep "
                    "WHERE ledger_account_id = :duplicate"
                ),
                moved,
            )
            conn.execute(
                sa.text(
                    "UPDATE payout_requests SET ledger_account_id = :keep "
                    "WHERE ledger_account_id = :duplicate"
                ),
                moved,
            )
            conn.execute(
                sa.text(
                    "UPDATE ledger_accounts SET balance = balance + "
                    "(SELECT balance FROM ledger_accounts WHERE id = :duplicate) WHERE id = :keep"
                ),
                moved,
            )
            conn.execute(sa.text("DELETE FROM ledger_accounts WHERE id = :duplicate"), moved)
    op.create_index(
        INDEX,
        "ledger_accounts",
        ["kind", "currency"],
        unique=True,
        sqlite_where=sa.text("owner_id IS NULL"),
        postgresql_where=sa.text("owner_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="ledger_accounts")
