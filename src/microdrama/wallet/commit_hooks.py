"""Creators' earnings credited at commit, and the global Session hooks that apply or drop them.

Why this exists: a creator's earnings row is touched by every unlock of every one of their
series, and whoever updates it holds its row lock until commit, so every other unlock of the
creator waits. The stored balance of that credit (its ledger entry is written at once) therefore
moves last: on PostgreSQL in the same query as the COMMIT, so the lock is held only while the
server runs the two; elsewhere in the last statement before COMMIT. Credits only ever add to a
balance, so nothing is decided on them; wallet functions that read stored balances apply the
pending credits first (`settle_credits`). The hooks are on every Session (SQLAlchemy's event
API has no narrower target for a session the wallet did not create); they do nothing unless
`credit_at_commit` left credits pending on that session.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from sqlalchemy import Table, bindparam, event, update
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.orm.util import identity_key

from microdrama.wallet.models import BonusLot, LedgerAccount

_accounts = cast(Table, LedgerAccount.__table__)

_MOVE_BALANCE = (
    update(_accounts)
    .where(_accounts.c.id == bindparam("row_id"))
    .values(balance=_accounts.c.balance + bindparam("delta"))
)


def forget_loaded(
    db: Session, model: type[LedgerAccount] | type[BonusLot], ids: Sequence[int]
) -> None:
    """Rows just changed by Core statements: expire their ORM copies (if any) so they reload."""
    for row_id in ids:
        loaded = db.identity_map.get(identity_key(model, row_id))
        if loaded is not None:
            db.expire(loaded)


_PENDING = "wallet_credits_at_commit"


def move_balances(db: Session, moves: dict[int, int]) -> None:
    """Add to stored balances: one UPDATE per account (pipelined by psycopg when several), in
    primary-key order like every lock."""
    params = [{"row_id": account, "delta": moves[account]} for account in sorted(moves)]
    db.connection().execute(_MOVE_BALANCE, params[0] if len(params) == 1 else params)
    forget_loaded(db, LedgerAccount, list(moves))


def credit_at_commit(db: Session, account_id: int, amount: int) -> None:
    if db.in_nested_transaction():
        # A savepoint could roll the entry back without the credit: apply it now.
        move_balances(db, {account_id: amount})
        return
    pending: dict[int, int] = db.info.setdefault(_PENDING, {})
    pending[account_id] = pending.get(account_id, 0) + amount


def settle_credits(db: Session) -> None:
    pending: dict[int, int] | None = db.info.pop(_PENDING, None)
    if pending:
        move_balances(db, pending)
        forget_loaded(db, LedgerAccount, list(pending))


@event.listens_for(Session, "before_commit")
def _apply_credits_with_the_commit(db: Session) -> None:
    """Apply the pending credits as the session commits.

    On PostgreSQL the credits and the COMMIT go to the server as one query (the simple query
    protocol runs several statements; what is written into it are integers): the creator's
    earnings row is then locked only while the server runs the UPDATE and the COMMIT, with no
    round trip and no Python (nor a thread waiting for its turn) in between; the session then
    ends its transaction, and psycopg, finding it committed, sends nothing. Elsewhere, or when
    a savepoint is released, the credits are applied by their own statement first.
    """
    if _PENDING not in db.info:
        return
    conn = db.connection()
    if db.in_nested_transaction() or conn.dialect.name != "postgresql":
        settle_credits(db)
        return
    db.flush()  # nothing may be left to flush after the COMMIT below
    pending: dict[int, int] = db.info.pop(_PENDING)
    conn.exec_driver_sql(
        "".join(
            f"UPDATE ledger_accounts SET balance = balance + {int(pending[account])} "
            f"WHERE id = {int(account)}; "
            for account in sorted(pending)
        )
        + "COMMIT"
    )
    forget_loaded(db, LedgerAccount, list(pending))


@event.listens_for(Session, "after_transaction_end")
def _drop_when_over(db: Session, transaction: SessionTransaction) -> None:
    # Rolled back or closed without a commit: the entries are gone, so are their credits.
    if transaction.parent is None:
        db.info.pop(_PENDING, None)
