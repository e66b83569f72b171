"""Paying for an unlock: the hot path, behind one function, `spend_for_unlock`.

It writes with Core statements (one data-modifying CTE on PostgreSQL) exactly the rows that
`ledger.post` would write for the same unlock (tests/wallet/test_unlock_rows.py proves it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Table,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from microdrama.config import Settings
from microdrama.db import utcnow
from microdrama.errors import DomainError
from microdrama.wallet.commit_hooks import credit_at_commit, forget_loaded, move_balances
from microdrama.wallet.ledger import K, LedgerError, ensure_wallet, ledger_account
from microdrama.wallet.models import (
    BonusLot,
    Currency,
    LedgerAccount,
    LedgerAccountKind,
    LedgerEntry,
    LedgerTransaction,
)
from microdrama.wallet.viewer_coins import live_bonus_coins


class InsufficientCoins(DomainError, code="insufficient_coins", status_code=402): ...


def creator_share(*, share_percent: int, paid_coins: int) -> int:
    """The creator's part of paid coins spent: floor of the share; the platform keeps the rest."""
    return paid_coins * share_percent // 100


@dataclass(frozen=True)
class Wallet:
    """The viewer's paid and bonus coin accounts, locked for this transaction, with balances."""

    paid_id: int
    paid: int
    bonus_id: int
    bonus: int
    # The platform's counter-accounts of coin postings, read by the same statement (None
    # before their first use).
    promotions_id: int | None = None
    revenue_id: int | None = None

    @property
    def total(self) -> int:
        return self.paid + self.bonus


@dataclass(frozen=True)
class UnlockCharge:
    """What an unlock's payment is, as its ledger transaction records it: the price, the
    creator who earns a share, and the transaction's unique reference, memo and details."""

    creator_id: int
    price_coins: int
    reference: str
    memo: str
    details: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class UnlockPayment:
    """What an unlock's payment did: its ledger transaction and the coins it moved."""

    transaction_id: int
    paid_coins: int
    bonus_coins: int
    creator_coins: int
    balance_coins: int  # the viewer's coins afterwards (expired bonus swept)


_accounts = cast(Table, LedgerAccount.__table__)

_transactions = cast(Table, LedgerTransaction.__table__)

_entries = cast(Table, LedgerEntry.__table__)

_lots = cast(Table, BonusLot.__table__)


def _account_id_subquery(
    kind: LedgerAccountKind, owner_id: ColumnElement[int] | None
) -> ColumnElement[int | None]:
    return (
        select(_accounts.c.id)
        .where(
            _accounts.c.kind == kind,
            _accounts.c.currency == Currency.coin,
            _accounts.c.owner_id.is_(None)
            if owner_id is None
            else _accounts.c.owner_id == owner_id,
        )
        .scalar_subquery()
    )


# The hot path's statements, built once (SQLAlchemy then reuses their compiled form).
_LOCK_WALLET = (
    select(
        _accounts.c.id,
        _accounts.c.kind,
        _accounts.c.balance,
        _account_id_subquery(K.promotions, None).label("promotions_id"),
        _account_id_subquery(K.platform_revenue, None).label("revenue_id"),
    )
    .where(
        _accounts.c.owner_id == bindparam("owner_id"),
        or_(_accounts.c.kind == K.viewer_paid, _accounts.c.kind == K.viewer_bonus),
        _accounts.c.currency == Currency.coin,
    )
    .order_by(_accounts.c.id)
    .with_for_update()
)

_UNLOCK_COUNTER_ACCOUNTS = select(_accounts.c.id, _accounts.c.kind, _accounts.c.owner_id).where(
    _accounts.c.currency == Currency.coin,
    or_(
        and_(
            or_(_accounts.c.kind == K.promotions, _accounts.c.kind == K.platform_revenue),
            _accounts.c.owner_id.is_(None),
        ),
        and_(
            _accounts.c.kind == K.creator_earnings,
            _accounts.c.owner_id == bindparam("creator_id"),
        ),
    ),
)

_OPEN_LOTS = (
    select(_lots.c.id, _lots.c.remaining, _lots.c.expires_at)
    .where(_lots.c.owner_id == bindparam("owner_id"), _lots.c.remaining > 0)
    .order_by(_lots.c.expires_at, _lots.c.id)
)

_INSERT_TRANSACTION = insert(_transactions).returning(_transactions.c.id)

_INSERT_ENTRIES = insert(_entries)

_SET_LOT_REMAINING = (
    update(_lots)
    .where(_lots.c.id == bindparam("row_id"))
    .values(remaining=bindparam("new_remaining"))
)


def lock_wallet(*, db: Session, account_id: int) -> Wallet:
    """Lock the viewer's two coin accounts (FOR UPDATE, primary-key order) and read their
    balances, in one statement; the accounts are created on the viewer's first use."""
    db.flush()  # Core statements below must see what the session holds
    conn = db.connection()
    rows = conn.execute(_LOCK_WALLET, {"owner_id": account_id}).all()
    if len(rows) < 2:
        ensure_wallet(db=db, account_id=account_id)
        db.flush()
        rows = conn.execute(_LOCK_WALLET, {"owner_id": account_id}).all()
    by_kind = {row.kind: (row.id, row.balance) for row in rows}
    (paid_id, paid), (bonus_id, bonus) = by_kind[K.viewer_paid], by_kind[K.viewer_bonus]
    return Wallet(
        paid_id=paid_id,
        paid=paid,
        bonus_id=bonus_id,
        bonus=bonus,
        promotions_id=rows[0].promotions_id,
        revenue_id=rows[0].revenue_id,
    )


def live_balance(*, db: Session, wallet: Wallet, owner_id: int) -> int:
    """The locked wallet's spendable coins: paid, and bonus not yet past expiry (no query when
    it holds no bonus)."""
    return wallet.paid + (live_bonus_coins(db, owner_id, utcnow()) if wallet.bonus else 0)


def _unlock_counter_accounts(
    db: Session, wallet: Wallet, creator_id: int, creator_earnings_id: int | None
) -> tuple[int, int, int]:
    """Ids of promotions, platform revenue and the creator's earnings: read with the wallet
    (and the caller's facts) already, else one query (each account is created on first use)."""
    if wallet.promotions_id and wallet.revenue_id and creator_earnings_id:
        return wallet.promotions_id, wallet.revenue_id, creator_earnings_id
    wanted = [(K.promotions, None), (K.platform_revenue, None), (K.creator_earnings, creator_id)]
    found = {
        (kind, owner): account
        for account, kind, owner in db.connection().execute(
            _UNLOCK_COUNTER_ACCOUNTS, {"creator_id": creator_id}
        )
    }
    for kind, owner in wanted:
        if (kind, owner) not in found:  # first sale of the platform or of this creator
            found[(kind, owner)] = ledger_account(
                db=db, kind=kind, currency=Currency.coin, owner_id=owner
            ).id
    return found[wanted[0]], found[wanted[1]], found[wanted[2]]


def creator_earnings_id_clause(owner_id: ColumnElement[int]) -> ColumnElement[int | None]:
    """The id of the coin earnings account of owner_id (NULL before their first sale), as a
    scalar subquery to fold into a caller's query."""
    return _account_id_subquery(K.creator_earnings, owner_id)


def _balanced(kind: str, legs: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The non-zero legs of a coin transaction, checked to sum to zero before anything is sent."""
    legs = [(account, amount) for account, amount in legs if amount != 0]
    if not legs:
        raise LedgerError("a transaction needs at least one non-zero entry")
    if sum(amount for _account, amount in legs):
        raise LedgerError(f"unbalanced transaction {kind}: {legs}")
    return legs


@dataclass(frozen=True)
class _Posting:
    kind: str
    legs: list[tuple[int, int]]
    reference: str | None
    actor_id: int
    memo: str
    details: dict[str, object]


def _insert_transaction(db: Session, posting: _Posting) -> int:
    """Insert one balanced coin transaction and its entries (two statements); the caller moves
    the stored balances of the accounts it has locked (_MOVE_BALANCE)."""
    legs = _balanced(posting.kind, posting.legs)
    conn = db.connection()
    transaction_id: int = conn.execute(
        _INSERT_TRANSACTION,
        {
            "kind": posting.kind,
            "reference": posting.reference,
            "actor_id": posting.actor_id,
            "memo": posting.memo,
            "details": posting.details,
            "created_at": utcnow(),
        },
    ).scalar_one()
    conn.execute(
        _INSERT_ENTRIES,
        [
            {"transaction_id": transaction_id, "ledger_account_id": account, "amount": amount}
            for account, amount in legs
        ],
    )
    return transaction_id


# --- an unlock's writes in one statement (PostgreSQL) ----------------------------------------
# The unlock's posting (its transaction, entries, bonus lots and the viewer's balances) and
# what the caller records with it (the unlock rows) go to PostgreSQL as one data-modifying
# statement: one round trip instead of four, the same rows written. Everything was decided
# and checked against the locked balances before it is sent. SQLite has no data-modifying
# CTEs: there the same writes are sent one by one.

RecordBought = Callable[[ColumnElement[int]], Any]


@dataclass(frozen=True)
class PaidFor:
    """What a payment buys, written with the payment.

    On PostgreSQL `statement(transaction_id)` is the caller's INSERT, built from the new ledger
    transaction's id and sent in the payment's own statement (pass a module-level function:
    the combined statement is built once for it and reused); `params` are its bound values.
    Elsewhere `record(transaction_id)` writes it after the payment.
    """

    statement: RecordBought
    params: Mapping[str, Any]
    record: Callable[[int], None]


def _arrays(name: str, **columns: tuple[str, type[Integer]]) -> Any:
    """`unnest(:param, ...) AS name(column, ...)`: rows from parallel arrays bound as parameters."""
    return (
        func.unnest(*(bindparam(param, type_=ARRAY(type_)) for param, type_ in columns.values()))
        .table_valued(*columns)
        .render_derived(name=name)
    )


@cache
def _unlock_posting(record_bought: RecordBought | None) -> Any:
    """WITH tx AS (INSERT transaction RETURNING id), entries, lots, balances[, bought] SELECT id."""
    tx = (
        insert(_transactions)
        .values(
            kind=bindparam("tx_kind"),
            reference=bindparam("tx_reference"),
            actor_id=bindparam("tx_actor_id"),
            memo=bindparam("tx_memo"),
            details=bindparam("tx_details"),
            created_at=bindparam("tx_created_at"),
        )
        .returning(_transactions.c.id)
        .cte("tx")
    )
    transaction_id = select(tx.c.id).scalar_subquery()  # one row
    leg = _arrays("leg", account_id=("leg_accounts", Integer), amount=("leg_amounts", BigInteger))
    lot = _arrays("lot", id=("lot_ids", Integer), remaining=("lot_remaining", Integer))
    move = _arrays("move", account_id=("move_accounts", Integer), delta=("move_deltas", BigInteger))
    writes = [
        insert(_entries)
        .from_select(
            ["transaction_id", "ledger_account_id", "amount"],
            select(transaction_id, leg.c.account_id, leg.c.amount),
        )
        .cte("entries"),
        update(_lots).where(_lots.c.id == lot.c.id).values(remaining=lot.c.remaining).cte("lots"),
        update(_accounts)
        .where(_accounts.c.id == move.c.account_id)
        .values(balance=_accounts.c.balance + move.c.delta)
        .cte("balances"),
    ]
    if record_bought is not None:
        writes.append(record_bought(transaction_id).cte("bought"))
    return select(tx.c.id).add_cte(*writes)


def _post_unlock_at_once(
    conn: Connection,
    *,
    posting: _Posting,
    lots: dict[int, int],
    moves: dict[int, int],
    paid_for: PaidFor | None,
) -> int:
    """Send the unlock's writes as one statement (PostgreSQL); returns the transaction's id."""
    params: dict[str, Any] = {
        "tx_kind": posting.kind,
        "tx_reference": posting.reference,
        "tx_actor_id": posting.actor_id,
        "tx_memo": posting.memo,
        "tx_details": posting.details,
        "tx_created_at": utcnow(),
        "leg_accounts": [account for account, _amount in posting.legs],
        "leg_amounts": [amount for _account, amount in posting.legs],
        "lot_ids": list(lots),
        "lot_remaining": list(lots.values()),
        "move_accounts": list(moves),
        "move_deltas": list(moves.values()),
    }
    statement = _unlock_posting(paid_for.statement if paid_for is not None else None)
    if paid_for is not None:
        params.update(paid_for.params)
    transaction_id: int = conn.execute(statement, params).scalar_one()
    return transaction_id


def spend_for_unlock(
    *,
    db: Session,
    settings: Settings,
    viewer_id: int,
    charge: UnlockCharge,
    now: datetime | None = None,
    wallet: Wallet | None = None,
    creator_earnings_id: int | None = None,
    share_percent: int | None = None,
    paid_for: PaidFor | None = None,
) -> UnlockPayment:
    """Pay for an unlock: bonus coins first (soonest to expire first), then paid coins; the
    creator's share of the paid coins goes to their earnings in the same transaction.

    `wallet` is the viewer's wallet already locked by the caller (else it is locked here);
    `creator_earnings_id` the creator's earnings account if the caller read it already;
    `share_percent` the creator's revenue share (the operator's setting; default: configuration);
    `paid_for` what the payment buys (the caller's rows), written with it.
    A handful of Core statements: the wallet lock, the counter accounts, the open bonus lots
    (only when there are bonus coins), then the transaction, its entries, the lots, the stored
    balances and `paid_for` (on PostgreSQL one data-modifying statement, _post_unlock_at_once);
    the creator's earnings row is locked last, at commit, for the shortest time.
    """
    now = now or utcnow()
    price_coins = charge.price_coins
    if price_coins <= 0:
        raise LedgerError("an unlock must cost something")
    if wallet is None:
        wallet = lock_wallet(db=db, account_id=viewer_id)
    promotions, revenue, earnings = _unlock_counter_accounts(
        db, wallet, charge.creator_id, creator_earnings_id
    )
    conn = db.connection()
    lots = conn.execute(_OPEN_LOTS, {"owner_id": viewer_id}).all() if wallet.bonus else []
    new_remaining: dict[int, int] = {}
    expired_lots = [lot for lot in lots if lot.expires_at <= now]
    expired = sum(lot.remaining for lot in expired_lots)
    bonus = wallet.bonus - expired
    if wallet.paid + bonus < price_coins:
        raise InsufficientCoins(
            f"This costs {price_coins} coins and you have {wallet.paid + bonus}.",
            price_coins=price_coins,
            balance_coins=wallet.paid + bonus,
        )
    if expired:
        expiry = _Posting(
            kind="bonus_expiry",
            legs=[(wallet.bonus_id, -expired), (promotions, expired)],
            reference=None,
            actor_id=viewer_id,
            memo=f"{expired} bonus coins expired",
            details={"lots": [lot.id for lot in expired_lots]},
        )
        _insert_transaction(db, expiry)
        new_remaining.update((lot.id, 0) for lot in expired_lots)
    bonus_used = min(bonus, price_coins)
    paid_used = price_coins - bonus_used
    if share_percent is None:
        share_percent = settings.creator_revenue_share_percent
    to_creator = creator_share(share_percent=share_percent, paid_coins=paid_used)
    if bonus - bonus_used < 0 or wallet.paid - paid_used < 0:
        raise LedgerError(f"the wallet of account {viewer_id} would go negative")
    remaining = bonus_used
    for lot in lots:
        if not remaining:
            break
        if lot.id in new_remaining:
            continue  # expired, swept above
        take = min(lot.remaining, remaining)
        new_remaining[lot.id] = lot.remaining - take
        remaining -= take
    # The viewer's accounts are locked already; the creator's earnings move at commit.
    moves = {
        account: delta
        for account, delta in (
            (wallet.paid_id, -paid_used),
            (wallet.bonus_id, -expired - bonus_used),
        )
        if delta
    }
    posting = _Posting(
        kind="unlock",
        legs=_balanced(
            "unlock",
            [
                (wallet.bonus_id, -bonus_used),
                (promotions, bonus_used),
                (wallet.paid_id, -paid_used),
                (earnings, to_creator),
                (revenue, paid_used - to_creator),
            ],
        ),
        reference=charge.reference,
        actor_id=viewer_id,
        memo=charge.memo,
        details={
            **charge.details,
            "paid_coins": paid_used,
            "bonus_coins": bonus_used,
            "creator_coins": to_creator,
        },
    )
    if conn.dialect.name == "postgresql":
        transaction_id = _post_unlock_at_once(
            conn, posting=posting, lots=new_remaining, moves=moves, paid_for=paid_for
        )
        forget_loaded(db, LedgerAccount, list(moves))
    else:
        transaction_id = _insert_transaction(db, posting)
        if new_remaining:
            conn.execute(
                _SET_LOT_REMAINING,
                [{"row_id": lot, "new_remaining": left} for lot, left in new_remaining.items()],
            )
        move_balances(db, moves)
        if paid_for is not None:
            paid_for.record(transaction_id)
    if to_creator:
        credit_at_commit(db, earnings, to_creator)
    forget_loaded(db, BonusLot, list(new_remaining))
    return UnlockPayment(
        transaction_id=transaction_id,
        paid_coins=paid_used,
        bonus_coins=bonus_used,
        creator_coins=to_creator,
        balance_coins=wallet.paid - paid_used + bonus - bonus_used,
    )


def spent_since(
    *, db: Session, account_id: int, since: datetime, wallet: Wallet | None = None
) -> int:
    """Coins the viewer spent on unlocks since a moment (for the weekly spend limit)."""
    if wallet is None:
        paid, bonus = ensure_wallet(db=db, account_id=account_id)
        ids = [paid.id, bonus.id]
    else:
        ids = [wallet.paid_id, wallet.bonus_id]
    total = db.scalar(
        select(func.coalesce(func.sum(_entries.c.amount), 0))
        .select_from(_entries.join(_transactions, _transactions.c.id == _entries.c.transaction_id))
        .where(
            _entries.c.ledger_account_id.in_(ids),
            _transactions.c.kind.in_(["unlock", "unlock_refund"]),
            _transactions.c.created_at >= since,
        )
    )
    return -int(total or 0)
