"""Wallet service: the only code that moves coins or money, always through the ledger.

Every movement is one balanced LedgerTransaction (entries sum to zero per currency); stored
balances change in the same database transaction; `verify` recomputes all of it.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any, TypeVar, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Table,
    and_,
    bindparam,
    event,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker
from sqlalchemy.orm.util import identity_key

from microdrama.config import Settings
from microdrama.db import begin_immediate, utcnow
from microdrama.errors import DomainError
from microdrama.payments.models import CoinPack, Purchase
from microdrama.wallet.models import (
    BonusLot,
    Currency,
    DailyCheckin,
    LedgerAccount,
    LedgerAccountKind,
    LedgerEntry,
    LedgerTransaction,
)

T = TypeVar("T")
K = LedgerAccountKind

# The platform's own accounts: counter-parties of wallets, allowed to go negative.
PLATFORM_KINDS = {
    K.platform_revenue,
    K.coin_issuance,
    K.promotions,
    K.payment_clearing,
    K.platform_cash,
}


class InsufficientCoins(DomainError):
    status_code = 402
    code = "insufficient_coins"


class LedgerError(Exception):
    """A posting that would break the books: a programming error, never a user's."""


@dataclass(frozen=True)
class WalletBalance:
    paid: int
    bonus: int

    @property
    def total(self) -> int:
        return self.paid + self.bonus


# --- transactions ---------------------------------------------------------------------------


def _is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError) and "database is locked" in str(exc):
        return True  # SQLite: another writer held the lock past busy_timeout
    if isinstance(exc, DBAPIError):
        # PostgreSQL serialization_failure and deadlock_detected.
        return getattr(exc.orig, "sqlstate", None) in {"40001", "40P01"}
    return False


def run_money_transaction(
    factory: sessionmaker[Session], fn: Callable[[Session], T], *, attempts: int = 8
) -> T:
    """Run fn(db) in one committed transaction, retrying serialization failures and deadlocks."""
    for attempt in range(attempts):
        db = factory()
        try:
            # SQLite: the write lock before reading balances (no lost updates).
            begin_immediate(db.connection())
            result = fn(db)
            _commit(db)
            return result
        except Exception as exc:
            db.rollback()
            if attempt + 1 < attempts and _is_retryable(exc):
                time.sleep(min(0.5, 0.01 * 2**attempt))
                continue
            raise
        finally:
            db.close()
    raise AssertionError("unreachable")


# --- accounts and posting -------------------------------------------------------------------


def ledger_account(
    *, db: Session, kind: LedgerAccountKind, currency: Currency, owner_id: int | None = None
) -> LedgerAccount:
    """The ledger account of that kind (created on first use; remembered for the session)."""
    known: dict[tuple[str, str, int | None], LedgerAccount] = db.info.setdefault(
        "ledger_accounts", {}
    )
    memo_key = (kind.value, currency.value, owner_id)
    if memo_key in known:
        return known[memo_key]
    query = select(LedgerAccount).where(
        LedgerAccount.kind == kind,
        LedgerAccount.currency == currency,
        LedgerAccount.owner_id.is_(None)
        if owner_id is None
        else LedgerAccount.owner_id == owner_id,
    )
    found = db.scalar(query)
    if found is None:
        try:
            with db.begin_nested():
                found = LedgerAccount(
                    kind=kind,
                    currency=currency,
                    owner_id=owner_id,
                    balance=0,
                    may_go_negative=kind in PLATFORM_KINDS,
                )
                db.add(found)
        except IntegrityError:
            found = db.scalar(query)
            if found is None:
                raise
    known[memo_key] = found
    return found


AccountSpec = tuple[LedgerAccountKind, Currency, int | None]


def prefetch_accounts(*, db: Session, specs: Sequence[AccountSpec]) -> None:
    """Load several ledger accounts in one query (a posting touches five of them)."""
    known: dict[tuple[str, str, int | None], LedgerAccount] = db.info.setdefault(
        "ledger_accounts", {}
    )
    missing = [(k, c, o) for k, c, o in specs if (k.value, c.value, o) not in known]
    if not missing:
        return
    conditions = [
        and_(
            LedgerAccount.kind == kind,
            LedgerAccount.currency == currency,
            LedgerAccount.owner_id.is_(None) if owner is None else LedgerAccount.owner_id == owner,
        )
        for kind, currency, owner in missing
    ]
    for account in db.scalars(select(LedgerAccount).where(or_(*conditions))):
        known[(account.kind.value, account.currency.value, account.owner_id)] = account


def ensure_wallet(*, db: Session, account_id: int) -> tuple[LedgerAccount, LedgerAccount]:
    """The viewer's paid and bonus coin accounts."""
    prefetch_accounts(
        db=db,
        specs=[
            (K.viewer_paid, Currency.coin, account_id),
            (K.viewer_bonus, Currency.coin, account_id),
        ],
    )
    return (
        ledger_account(db=db, kind=K.viewer_paid, currency=Currency.coin, owner_id=account_id),
        ledger_account(db=db, kind=K.viewer_bonus, currency=Currency.coin, owner_id=account_id),
    )


def lock_accounts(*, db: Session, accounts: Sequence[LedgerAccount]) -> None:
    """Lock ledger rows (FOR UPDATE, primary-key order) and re-read their balances."""
    _lock(db, accounts)


def _lock(db: Session, accounts: Sequence[LedgerAccount]) -> None:
    _settle_credits(db)
    # Row locks in primary-key order (two postings over the same accounts never deadlock),
    # re-reading the balances in the same round trip.
    ids = sorted({a.id for a in accounts if not a.may_go_negative})
    if ids:
        db.scalars(
            select(LedgerAccount)
            .where(LedgerAccount.id.in_(ids))
            .order_by(LedgerAccount.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()


# Accounts a refund may leave owing money to the platform (earnings already paid out).
CLAWBACK_KINDS = frozenset({K.creator_earnings, K.brand_revenue})


def _may_owe(account: LedgerAccount, clawback: bool) -> bool:
    return account.may_go_negative or (clawback and account.kind in CLAWBACK_KINDS)


def post(
    *,
    db: Session,
    kind: str,
    legs: Sequence[tuple[LedgerAccount, int]],
    reference: str | None = None,
    actor_id: int | None = None,
    memo: str = "",
    details: dict[str, object] | None = None,
    clawback: bool = False,
) -> LedgerTransaction:
    """Post one balanced transaction and move the stored balances with it.

    `clawback` (refunds): a creator's or brand's earnings may go below zero when what is taken
    back was already paid out; the debt is settled by their next earnings (payouts see nothing
    available until then). Viewers' wallets never go negative.

    Only people's accounts (wallets, earnings) keep a stored balance, locked and checked here.
    The platform's counter-accounts are touched by nearly every posting; locking one row for
    all of them would serialise every unlock, so their balances are the sum of their entries.
    """
    legs = [(account, amount) for account, amount in legs if amount != 0]
    if not legs:
        raise LedgerError("a transaction needs at least one non-zero entry")
    sums: dict[Currency, int] = defaultdict(int)
    for account, amount in legs:
        sums[account.currency] += amount
    if any(sums.values()):
        raise LedgerError(f"unbalanced transaction {kind}: {dict(sums)}")
    _lock(db, [a for a, _ in legs])
    for account, amount in legs:
        if account.balance + amount < 0 and not _may_owe(account, clawback):
            raise LedgerError(f"ledger account {account.id} ({account.kind}) would go negative")
    transaction = LedgerTransaction(
        kind=kind, reference=reference, actor_id=actor_id, memo=memo, details=details or {}
    )
    db.add(transaction)
    db.flush()
    for account, amount in legs:
        db.add(
            LedgerEntry(transaction_id=transaction.id, ledger_account_id=account.id, amount=amount)
        )
        if not account.may_go_negative:
            account.balance += amount
    db.flush()
    return transaction


def record_ad_unlock(
    *, db: Session, viewer_id: int, reference: str, memo: str, details: dict[str, object]
) -> LedgerTransaction:
    """Write an episode unlocked by a rewarded ad into the viewer's wallet history.

    No coins or money move, so the transaction has no entries (nothing to balance, nothing
    `verify` or any statement sums); it is journalled here so the history lists it in order,
    with the same paging, beside the unlocks the viewer paid for.
    """
    transaction = LedgerTransaction(
        kind="ad_unlock", reference=reference, actor_id=viewer_id, memo=memo, details=details
    )
    db.add(transaction)
    db.flush()
    return transaction


def account_balance(*, db: Session, account: LedgerAccount) -> int:
    """Any ledger account's balance: stored for people's accounts, summed for the platform's."""
    _settle_credits(db)
    if not account.may_go_negative:
        return account.balance
    total = db.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.ledger_account_id == account.id
        )
    )
    return int(total or 0)


def balances(*, db: Session, account_id: int) -> WalletBalance:
    """The viewer's spendable coins (bonus coins past expiry are not counted)."""
    paid, _bonus = ensure_wallet(db=db, account_id=account_id)
    return WalletBalance(paid=paid.balance, bonus=_live_bonus(db, account_id, utcnow()))


def _live_bonus(db: Session, account_id: int, now: datetime) -> int:
    return int(
        db.scalar(
            select(func.coalesce(func.sum(BonusLot.remaining), 0)).where(
                BonusLot.owner_id == account_id, BonusLot.remaining > 0, BonusLot.expires_at > now
            )
        )
        or 0
    )


# --- coins in ------------------------------------------------------------------------------


def credit_coin_purchase(
    *, db: Session, settings: Settings, purchase: Purchase
) -> LedgerTransaction:
    """A paid coin pack: money into clearing, paid coins and a bonus lot into the wallet."""
    paid, bonus = ensure_wallet(db=db, account_id=purchase.account_id)
    legs: list[tuple[LedgerAccount, int]] = [
        (
            ledger_account(db=db, kind=K.payment_clearing, currency=Currency.usd),
            -purchase.amount_cents,
        ),
        (ledger_account(db=db, kind=K.platform_cash, currency=Currency.usd), purchase.amount_cents),
        (ledger_account(db=db, kind=K.coin_issuance, currency=Currency.coin), -purchase.coins),
        (paid, purchase.coins),
    ]
    if purchase.bonus_coins:
        legs += [
            (
                ledger_account(db=db, kind=K.promotions, currency=Currency.coin),
                -purchase.bonus_coins,
            ),
            (bonus, purchase.bonus_coins),
        ]
    transaction = post(
        db=db,
        kind="purchase",
        legs=legs,
        reference=f"purchase:{purchase.id}",
        actor_id=purchase.account_id,
        memo=f"Bought {purchase.coins} coins"
        + (f" + {purchase.bonus_coins} bonus" if purchase.bonus_coins else ""),
        details={"purchase_id": purchase.id, "amount_cents": purchase.amount_cents},
    )
    if purchase.bonus_coins:
        pack = db.get(CoinPack, purchase.coin_pack_id) if purchase.coin_pack_id else None
        _add_lot(
            db, settings, purchase.account_id, purchase.bonus_coins, "pack_bonus", transaction,
            valid_days=pack.bonus_valid_days if pack is not None else None,
        )  # fmt: skip
    return transaction


def credit_vip_payment(*, db: Session, purchase: Purchase) -> LedgerTransaction:
    """A paid VIP period: money into clearing and platform cash (the pass is payments' job)."""
    return post(
        db=db,
        kind="vip",
        legs=[
            (
                ledger_account(db=db, kind=K.payment_clearing, currency=Currency.usd),
                -purchase.amount_cents,
            ),
            (
                ledger_account(db=db, kind=K.platform_cash, currency=Currency.usd),
                purchase.amount_cents,
            ),
        ],
        reference=f"purchase:{purchase.id}",
        actor_id=purchase.account_id,
        memo="VIP pass",
        details={"purchase_id": purchase.id, "amount_cents": purchase.amount_cents},
    )


def _add_lot(
    db: Session,
    settings: Settings,
    account_id: int,
    coins: int,
    source: str,
    transaction: LedgerTransaction,
    valid_days: int | None = None,
) -> BonusLot:
    lot = BonusLot(
        owner_id=account_id,
        granted=coins,
        remaining=coins,
        expires_at=utcnow() + timedelta(days=valid_days or settings.bonus_coin_valid_days),
        source=source,
        transaction_id=transaction.id,
    )
    db.add(lot)
    db.flush()
    return lot


def grant_bonus(
    *,
    db: Session,
    settings: Settings,
    account_id: int,
    coins: int,
    source: str,
    reference: str,
    valid_days: int | None = None,
    memo: str = "",
) -> LedgerTransaction:
    """Give bonus coins (check-in, promotion) that expire after valid_days."""
    _paid, bonus = ensure_wallet(db=db, account_id=account_id)
    transaction = post(
        db=db,
        kind="bonus",
        legs=[
            (ledger_account(db=db, kind=K.promotions, currency=Currency.coin), -coins),
            (bonus, coins),
        ],
        reference=reference,
        actor_id=account_id,
        memo=memo or f"{coins} bonus coins",
        details={"source": source},
    )
    _add_lot(db, settings, account_id, coins, source, transaction, valid_days)
    return transaction


# --- coins out -----------------------------------------------------------------------------


def _open_lots(db: Session, account_id: int) -> list[BonusLot]:
    """The owner's lots with coins left, soonest to expire first."""
    return list(
        db.scalars(
            select(BonusLot)
            .where(BonusLot.owner_id == account_id, BonusLot.remaining > 0)
            .order_by(BonusLot.expires_at, BonusLot.id)
        )
    )


def _sweep_expired(
    db: Session, account_id: int, now: datetime, open_lots: list[BonusLot] | None = None
) -> int:
    """Move the owner's expired bonus coins back to promotions; returns how many expired."""
    if open_lots is None:
        open_lots = _open_lots(db, account_id)
    lots = [lot for lot in open_lots if lot.expires_at <= now]
    expired = sum(lot.remaining for lot in lots)
    if not expired:
        return 0
    _paid, bonus = ensure_wallet(db=db, account_id=account_id)
    post(
        db=db,
        kind="bonus_expiry",
        legs=[
            (bonus, -expired),
            (ledger_account(db=db, kind=K.promotions, currency=Currency.coin), expired),
        ],
        actor_id=account_id,
        memo=f"{expired} bonus coins expired",
        details={"lots": [lot.id for lot in lots]},
    )
    for lot in lots:
        lot.remaining = 0
    db.flush()
    return expired


def expire_bonus(*, db: Session, now: datetime | None = None) -> int:
    """Expire every owner's bonus coins past their date; returns the number of coins expired."""
    now = now or utcnow()
    owners = db.scalars(
        select(BonusLot.owner_id)
        .where(BonusLot.remaining > 0, BonusLot.expires_at <= now)
        .distinct()
        .order_by(BonusLot.owner_id)
    ).all()
    return sum(_sweep_expired(db, owner, now) for owner in owners)


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
_MOVE_BALANCE = (
    update(_accounts)
    .where(_accounts.c.id == bindparam("row_id"))
    .values(balance=_accounts.c.balance + bindparam("delta"))
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


def live_bonus(*, db: Session, wallet: Wallet, owner_id: int) -> int:
    """The locked wallet's bonus coins not yet past expiry (no query when there are none)."""
    return _live_bonus(db, owner_id, utcnow()) if wallet.bonus else 0


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


def _insert_transaction(
    db: Session,
    *,
    kind: str,
    legs: Sequence[tuple[int, int]],
    reference: str | None,
    actor_id: int,
    memo: str,
    details: dict[str, object],
) -> int:
    """Insert one balanced coin transaction and its entries (two statements); the caller moves
    the stored balances of the accounts it has locked (_MOVE_BALANCE)."""
    legs = _balanced(kind, legs)
    conn = db.connection()
    transaction_id: int = conn.execute(
        _INSERT_TRANSACTION,
        {
            "kind": kind,
            "reference": reference,
            "actor_id": actor_id,
            "memo": memo,
            "details": details,
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


def _forget_loaded(
    db: Session, model: type[LedgerAccount] | type[BonusLot], ids: Sequence[int]
) -> None:
    """Rows just changed by Core statements: expire their ORM copies (if any) so they reload."""
    for row_id in ids:
        loaded = db.identity_map.get(identity_key(model, row_id))
        if loaded is not None:
            db.expire(loaded)


# --- credits applied at commit ----------------------------------------------------------------
# A creator's earnings row is touched by every unlock of every one of their series: whoever
# updates it holds its row lock until commit, and every other unlock of the creator waits. So
# the stored balance of that credit (its ledger entry is written at once) moves last: on
# PostgreSQL in the same query as the COMMIT (_commit), so the lock is held only while the
# server runs the two; elsewhere in the last statement before COMMIT. Credits only ever add to
# a balance, so nothing is decided on them; wallet functions that read stored balances apply
# the pending credits first (_settle_credits).

_PENDING = "wallet_credits_at_commit"


def _move_balances(db: Session, moves: dict[int, int]) -> None:
    """Add to stored balances: one UPDATE per account (pipelined by psycopg when several), in
    primary-key order like every lock."""
    params = [{"row_id": account, "delta": moves[account]} for account in sorted(moves)]
    db.connection().execute(_MOVE_BALANCE, params[0] if len(params) == 1 else params)
    _forget_loaded(db, LedgerAccount, list(moves))


def _credit_at_commit(db: Session, account_id: int, amount: int) -> None:
    if db.in_nested_transaction():
        # A savepoint could roll the entry back without the credit: apply it now.
        _move_balances(db, {account_id: amount})
        return
    pending: dict[int, int] = db.info.setdefault(_PENDING, {})
    pending[account_id] = pending.get(account_id, 0) + amount


def _settle_credits(db: Session) -> None:
    pending: dict[int, int] | None = db.info.pop(_PENDING, None)
    if pending:
        _move_balances(db, pending)
        _forget_loaded(db, LedgerAccount, list(pending))


def _commit(db: Session) -> None:
    """Commit the money transaction. On PostgreSQL the pending credits and the COMMIT go to
    the server as one query (the simple query protocol runs several statements; what is
    written into it are integers): the creator's earnings row is then locked only while the
    server runs the UPDATE and the COMMIT, with no round trip and no Python (nor a thread
    waiting for its turn) in between. Elsewhere, or inside a savepoint, the session commits
    as usual (the before_commit hook applies the credits)."""
    if _PENDING in db.info and not db.in_nested_transaction():
        conn = db.connection()
        if conn.dialect.name == "postgresql":
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
            _forget_loaded(db, LedgerAccount, list(pending))
            # The session ends its transaction: psycopg finds it committed, sends nothing.
    db.commit()


@event.listens_for(Session, "before_commit")
def _settle_before_commit(db: Session) -> None:
    if _PENDING in db.info:
        _settle_credits(db)


@event.listens_for(Session, "after_transaction_end")
def _drop_when_over(db: Session, transaction: SessionTransaction) -> None:
    # Rolled back or closed without a commit: the entries are gone, so are their credits.
    if transaction.parent is None:
        db.info.pop(_PENDING, None)


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


@dataclass(frozen=True)
class _Posting:
    kind: str
    legs: list[tuple[int, int]]
    reference: str | None
    actor_id: int
    memo: str
    details: dict[str, object]


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
    creator_id: int,
    price_coins: int,
    reference: str,
    memo: str,
    details: dict[str, object] | None = None,
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
    if price_coins <= 0:
        raise LedgerError("an unlock must cost something")
    if wallet is None:
        wallet = lock_wallet(db=db, account_id=viewer_id)
    promotions, revenue, earnings = _unlock_counter_accounts(
        db, wallet, creator_id, creator_earnings_id
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
        _insert_transaction(
            db,
            kind="bonus_expiry",
            legs=[(wallet.bonus_id, -expired), (promotions, expired)],
            reference=None,
            actor_id=viewer_id,
            memo=f"{expired} bonus coins expired",
            details={"lots": [lot.id for lot in expired_lots]},
        )
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
        reference=reference,
        actor_id=viewer_id,
        memo=memo,
        details={
            **(details or {}),
            "paid_coins": paid_used,
            "bonus_coins": bonus_used,
            "creator_coins": to_creator,
        },
    )
    if conn.dialect.name == "postgresql":
        transaction_id = _post_unlock_at_once(
            conn, posting=posting, lots=new_remaining, moves=moves, paid_for=paid_for
        )
        _forget_loaded(db, LedgerAccount, list(moves))
    else:
        transaction_id = _insert_transaction(
            db,
            kind=posting.kind,
            legs=posting.legs,
            reference=posting.reference,
            actor_id=posting.actor_id,
            memo=posting.memo,
            details=posting.details,
        )
        if new_remaining:
            conn.execute(
                _SET_LOT_REMAINING,
                [{"row_id": lot, "new_remaining": left} for lot, left in new_remaining.items()],
            )
        _move_balances(db, moves)
        if paid_for is not None:
            paid_for.record(transaction_id)
    if to_creator:
        _credit_at_commit(db, earnings, to_creator)
    _forget_loaded(db, BonusLot, list(new_remaining))
    return UnlockPayment(
        transaction_id=transaction_id,
        paid_coins=paid_used,
        bonus_coins=bonus_used,
        creator_coins=to_creator,
        balance_coins=wallet.paid - paid_used + bonus - bonus_used,
    )


def refund_unlock(*, db: Session, transaction: LedgerTransaction, reason: str) -> LedgerTransaction:
    """Give back the coins of an unlock (as paid coins and fresh bonus) and take back the shares."""
    reversed_legs: list[tuple[LedgerAccount, int]] = []
    for entry in transaction.entries:
        account = db.get(LedgerAccount, entry.ledger_account_id)
        assert account is not None
        reversed_legs.append((account, -entry.amount))
    refund = post(
        db=db,
        kind="unlock_refund",
        legs=reversed_legs,
        clawback=True,
        reference=f"refund:{transaction.reference or transaction.id}",
        actor_id=transaction.actor_id,
        memo=reason,
        details={"refunded_transaction_id": transaction.id},
    )
    bonus_back = int(transaction.details.get("bonus_coins", 0) or 0)
    if bonus_back and transaction.actor_id is not None:
        db.add(
            BonusLot(
                owner_id=transaction.actor_id,
                granted=bonus_back,
                remaining=bonus_back,
                expires_at=utcnow() + timedelta(days=30),
                source="refund",
                transaction_id=refund.id,
            )
        )
        db.flush()
    return refund


def refund_purchase(*, db: Session, purchase: Purchase) -> LedgerTransaction:
    """Reverse a purchase's money and take back its coins that are still unspent."""
    paid, bonus = ensure_wallet(db=db, account_id=purchase.account_id)
    _sweep_expired(db, purchase.account_id, utcnow())
    _lock(db, [paid, bonus])
    paid_back = min(purchase.coins, paid.balance)
    lot = db.scalar(
        select(BonusLot)
        .join(LedgerTransaction, LedgerTransaction.id == BonusLot.transaction_id)
        .where(LedgerTransaction.reference == f"purchase:{purchase.id}")
    )
    bonus_back = lot.remaining if lot is not None else 0
    legs: list[tuple[LedgerAccount, int]] = [
        (
            ledger_account(db=db, kind=K.payment_clearing, currency=Currency.usd),
            purchase.amount_cents,
        ),
        (
            ledger_account(db=db, kind=K.platform_cash, currency=Currency.usd),
            -purchase.amount_cents,
        ),
        (paid, -paid_back),
        (ledger_account(db=db, kind=K.coin_issuance, currency=Currency.coin), paid_back),
        (bonus, -bonus_back),
        (ledger_account(db=db, kind=K.promotions, currency=Currency.coin), bonus_back),
    ]
    transaction = post(
        db=db,
        kind="refund",
        legs=legs,
        reference=f"refund:purchase:{purchase.id}",
        actor_id=purchase.account_id,
        memo="Refund"
        + (
            f": {paid_back + bonus_back} unspent coins taken back" if paid_back + bonus_back else ""
        ),
        details={
            "purchase_id": purchase.id,
            "amount_cents": -purchase.amount_cents,
            "coins_taken_back": paid_back + bonus_back,
        },
    )
    if lot is not None:
        lot.remaining = 0
        db.flush()
    return transaction


# --- shop orders (money, USD cents) ---------------------------------------------------------


def book_order_payment(
    *,
    db: Session,
    order_id: int,
    buyer_id: int,
    amount_cents: int,
    brand_id: int | None,
    brand_cents: int,
    commissions: dict[int, int],
    platform_fee_cents: int,
) -> LedgerTransaction:
    """A paid shop order: the money leaves payment clearing for the brand's revenue, each
    creator's affiliate commission and the platform's fee (all in one transaction). With no
    brand (an order paid too late to be filled) the money waits in platform cash until the
    provider's refund arrives."""
    if brand_cents + sum(commissions.values()) + platform_fee_cents != amount_cents:
        raise LedgerError(f"order {order_id}: the split does not add up to {amount_cents}")
    usd = Currency.usd
    prefetch_accounts(
        db=db,
        specs=[
            (K.payment_clearing, usd, None),
            (K.platform_revenue, usd, None),
            (K.platform_cash, usd, None) if brand_id is None else (K.brand_revenue, usd, brand_id),
            *[(K.creator_earnings, usd, creator_id) for creator_id in commissions],
        ],
    )
    legs: list[tuple[LedgerAccount, int]] = [
        (ledger_account(db=db, kind=K.payment_clearing, currency=usd), -amount_cents),
        (ledger_account(db=db, kind=K.platform_revenue, currency=usd), platform_fee_cents),
    ]
    if brand_id is None:
        legs.append((ledger_account(db=db, kind=K.platform_cash, currency=usd), brand_cents))
    else:
        brand = ledger_account(db=db, kind=K.brand_revenue, currency=usd, owner_id=brand_id)
        legs.append((brand, brand_cents))
    for creator_id, cents in sorted(commissions.items()):
        creator = ledger_account(db=db, kind=K.creator_earnings, currency=usd, owner_id=creator_id)
        legs.append((creator, cents))
    return post(
        db=db,
        kind="order_payment",
        legs=legs,
        reference=f"order:{order_id}",
        actor_id=buyer_id,
        memo=f"Shop order #{order_id}",
        details={
            "order_id": order_id,
            "amount_cents": amount_cents,
            "brand_cents": brand_cents,
            "commission_cents": sum(commissions.values()),
            "platform_fee_cents": platform_fee_cents,
        },
    )


def refund_order_payment(*, db: Session, order_id: int) -> LedgerTransaction:
    """Reverse every leg of an order's payment (brand, creators, platform) back to clearing."""
    payment = db.scalar(
        select(LedgerTransaction).where(
            LedgerTransaction.kind == "order_payment",
            LedgerTransaction.reference == f"order:{order_id}",
        )
    )
    if payment is None:
        raise LedgerError(f"order {order_id} has no payment to refund")
    legs: list[tuple[LedgerAccount, int]] = []
    for entry in payment.entries:
        account = db.get(LedgerAccount, entry.ledger_account_id)
        assert account is not None
        legs.append((account, -entry.amount))
    return post(
        db=db,
        kind="order_refund",
        legs=legs,
        clawback=True,
        reference=f"refund:order:{order_id}",
        actor_id=payment.actor_id,
        memo=f"Refund of shop order #{order_id}",
        details={"order_id": order_id, "amount_cents": -int(payment.details["amount_cents"])},
    )


def earnings_between(
    *, db: Session, owner_id: int, kind: LedgerAccountKind, since: datetime, until: datetime
) -> int:
    """What an account earned in money (USD cents) between two moments, refunds netted."""
    account = db.scalar(
        select(LedgerAccount).where(
            LedgerAccount.kind == kind,
            LedgerAccount.currency == Currency.usd,
            LedgerAccount.owner_id == owner_id,
        )
    )
    if account is None:
        return 0
    total = db.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0))
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(
            LedgerEntry.ledger_account_id == account.id,
            LedgerTransaction.created_at >= since,
            LedgerTransaction.created_at < until,
        )
    )
    return int(total or 0)


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


# --- reading and checking ------------------------------------------------------------------


# What each kind of movement is called in the wallet's history; the memo says the details.
HISTORY_LABELS = {
    "purchase": "Coin pack",
    "vip": "VIP pass",
    "unlock": "Episode unlock",
    "unlock_refund": "Unlock refunded",
    "ad_unlock": "Watched an ad",
    "refund": "Refund",
    "bonus": "Bonus coins",
    "bonus_expiry": "Bonus coins expired",
    "order_payment": "Shop order",
    "order_refund": "Shop order refunded",
    "payout": "Payout requested",
    "payout_paid": "Payout sent",
    "vip_share": "VIP pool share",
}
BONUS_LABELS = {"checkin": "Daily check-in", "pack_bonus": "Coin pack bonus"}


def history_label(kind: str, details: dict[str, object]) -> str:
    """A kind of movement in words ("Shop order", "Daily check-in"), never the raw kind."""
    if kind == "bonus":
        return BONUS_LABELS.get(str(details.get("source", "")), HISTORY_LABELS[kind])
    return HISTORY_LABELS.get(kind) or kind.replace("_", " ").capitalize()


@dataclass(frozen=True)
class HistoryItem:
    id: int
    kind: str
    label: str
    memo: str
    paid_coins: int
    bonus_coins: int
    amount_cents: int
    created_at: datetime


def history(
    *, db: Session, account_id: int, limit: int = 50, before_id: int | None = None
) -> list[HistoryItem]:
    """Every movement of the viewer's coins and money, newest first."""
    paid, bonus = ensure_wallet(db=db, account_id=account_id)
    query = select(LedgerTransaction).where(LedgerTransaction.actor_id == account_id)
    if before_id is not None:
        query = query.where(LedgerTransaction.id < before_id)
    transactions = db.scalars(query.order_by(LedgerTransaction.id.desc()).limit(limit)).all()
    entries = db.execute(
        select(LedgerEntry.transaction_id, LedgerEntry.ledger_account_id, LedgerEntry.amount).where(
            LedgerEntry.transaction_id.in_([t.id for t in transactions]),
            LedgerEntry.ledger_account_id.in_([paid.id, bonus.id]),
        )
    ).all()
    deltas: dict[tuple[int, int], int] = defaultdict(int)
    for transaction_id, ledger_account_id, amount in entries:
        deltas[(transaction_id, ledger_account_id)] += amount
    return [
        HistoryItem(
            id=t.id,
            kind=t.kind,
            label=history_label(t.kind, t.details),
            memo=t.memo or history_label(t.kind, t.details),
            paid_coins=deltas[(t.id, paid.id)],
            bonus_coins=deltas[(t.id, bonus.id)],
            amount_cents=int(t.details.get("amount_cents", 0) or 0),
            created_at=t.created_at,
        )
        for t in transactions
    ]


def verify(*, db: Session) -> list[str]:
    """Recompute the books; every line returned is a discrepancy (empty means all is well)."""
    _settle_credits(db)
    problems: list[str] = []
    unbalanced = db.execute(
        select(LedgerEntry.transaction_id, LedgerAccount.currency, func.sum(LedgerEntry.amount))
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.ledger_account_id)
        .group_by(LedgerEntry.transaction_id, LedgerAccount.currency)
        .having(func.sum(LedgerEntry.amount) != 0)
    ).all()
    problems += [f"transaction {t} does not balance in {c}: {s:+d}" for t, c, s in unbalanced]
    sums: dict[int, int] = {
        account_id: int(total or 0)
        for account_id, total in db.execute(
            select(LedgerEntry.ledger_account_id, func.sum(LedgerEntry.amount)).group_by(
                LedgerEntry.ledger_account_id
            )
        )
    }
    for account in db.scalars(select(LedgerAccount).order_by(LedgerAccount.id)):
        recomputed = int(sums.get(account.id, 0) or 0)
        if account.may_go_negative:
            if account.balance != 0:
                problems.append(f"platform account {account.id} has a stored balance")
            continue  # derived from its entries, nothing stored to compare
        if recomputed != account.balance:
            problems.append(
                f"ledger account {account.id} ({account.kind}, owner {account.owner_id}): "
                f"stored balance {account.balance} but entries sum to {recomputed}"
            )
        if account.balance < 0 and account.kind not in CLAWBACK_KINDS:
            problems.append(
                f"ledger account {account.id} ({account.kind}) is negative: {account.balance}"
            )
    lots: dict[int, int] = {
        owner_id: int(total or 0)
        for owner_id, total in db.execute(
            select(BonusLot.owner_id, func.sum(BonusLot.remaining)).group_by(BonusLot.owner_id)
        )
    }
    bonus_accounts = db.scalars(select(LedgerAccount).where(LedgerAccount.kind == K.viewer_bonus))
    for account in bonus_accounts:
        in_lots = int(lots.get(account.owner_id or 0, 0) or 0)
        if in_lots != account.balance:
            problems.append(
                f"bonus coins of account {account.owner_id}: "
                f"ledger says {account.balance}, lots say {in_lots}"
            )
    bad_lots = db.scalars(
        select(BonusLot.id).where(
            (BonusLot.remaining < 0) | (BonusLot.remaining > BonusLot.granted)
        )
    ).all()
    problems += [f"bonus lot {lot} has remaining outside 0..granted" for lot in bad_lots]
    return problems


# --- daily check-in ------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckinResult:
    coins: int
    streak: int
    already_checked_in: bool


def daily_checkin(
    *, db: Session, settings: Settings, account_id: int, today: date
) -> CheckinResult:
    """Grant the day's bonus coins once per day; consecutive days grow the streak."""
    existing = db.get(DailyCheckin, (account_id, today))
    if existing is not None:
        return CheckinResult(coins=existing.coins, streak=existing.streak, already_checked_in=True)
    yesterday = db.get(DailyCheckin, (account_id, today - timedelta(days=1)))
    streak = yesterday.streak + 1 if yesterday is not None else 1
    coins = min(
        settings.checkin_max_coins,
        settings.checkin_base_coins + (streak - 1) * settings.checkin_streak_bonus_coins,
    )
    db.add(DailyCheckin(account_id=account_id, day=today, streak=streak, coins=coins))
    db.flush()  # the primary key makes a second check-in the same day impossible
    grant_bonus(
        db=db,
        settings=settings,
        account_id=account_id,
        coins=coins,
        source="checkin",
        reference=f"checkin:{account_id}:{today.isoformat()}",
        memo=f"Daily check-in, day {streak} of your streak",
    )
    return CheckinResult(coins=coins, streak=streak, already_checked_in=False)


def checkin_state(*, db: Session, account_id: int, today: date) -> CheckinResult | None:
    """Today's check-in if the account already made it, so every page and device knows."""
    existing = db.get(DailyCheckin, (account_id, today))
    if existing is None:
        return None
    return CheckinResult(coins=existing.coins, streak=existing.streak, already_checked_in=True)


def bonus_expiring(*, db: Session, account_id: int, now: datetime | None = None) -> list[BonusLot]:
    """The viewer's live bonus lots, soonest to expire first."""
    now = now or utcnow()
    return list(
        db.scalars(
            select(BonusLot)
            .where(
                BonusLot.owner_id == account_id, BonusLot.remaining > 0, BonusLot.expires_at > now
            )
            .order_by(BonusLot.expires_at)
        )
    )
