"""The ledger: its accounts, balanced postings under ordered row locks, history and verify.

Every movement is one balanced LedgerTransaction (entries sum to zero per currency); stored
balances change in the same database transaction; `verify` recomputes all of it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from microdrama.wallet.commit_hooks import credit_at_commit, settle_credits
from microdrama.wallet.models import (
    BonusLot,
    Currency,
    LedgerAccount,
    LedgerAccountKind,
    LedgerEntry,
    LedgerTransaction,
)

K = LedgerAccountKind

# The platform's own accounts: counter-parties of wallets, allowed to go negative.
PLATFORM_KINDS = {
    K.platform_revenue,
    K.coin_issuance,
    K.promotions,
    K.payment_clearing,
    K.platform_cash,
}


class LedgerError(Exception):
    """A posting that would break the books: a programming error, never a user's."""


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
    settle_credits(db)
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


# Earnings: what creators and brands are owed. A refund may leave them owing money to the
# platform (earnings already paid out); a credit to them moves at commit, unlocked (`post`).
EARNINGS_KINDS = frozenset({K.creator_earnings, K.brand_revenue})


def _may_owe(account: LedgerAccount, clawback: bool) -> bool:
    return account.may_go_negative or (clawback and account.kind in EARNINGS_KINDS)


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
    A credit to earnings (a creator's, a brand's) is not locked either: it only adds, nothing
    is decided on it, and one brand's orders would otherwise queue on its row; its stored
    balance moves at commit (commit_hooks), as an unlock's credit to its creator does.
    """
    legs = [(account, amount) for account, amount in legs if amount != 0]
    if not legs:
        raise LedgerError("a transaction needs at least one non-zero entry")
    sums: dict[Currency, int] = defaultdict(int)
    for account, amount in legs:
        sums[account.currency] += amount
    if any(sums.values()):
        raise LedgerError(f"unbalanced transaction {kind}: {dict(sums)}")
    # Debits are locked and checked; credits to earnings move at commit, unlocked.
    at_commit = {id(a) for a, amount in legs if amount > 0 and a.kind in EARNINGS_KINDS}
    _lock(db, [a for a, _ in legs if id(a) not in at_commit])
    for account, amount in legs:
        if amount < 0 and account.balance + amount < 0 and not _may_owe(account, clawback):
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
        if id(account) in at_commit:
            credit_at_commit(db, account.id, amount)
        elif not account.may_go_negative:
            account.balance += amount
    db.flush()
    return transaction


def reverse(
    *, db: Session, transaction: LedgerTransaction, kind: str, memo: str, details: dict[str, object]
) -> LedgerTransaction:
    """Post every entry of a transaction again with the opposite sign (a full refund), as
    `refund:` + its reference; the earnings it had credited may go below zero (`clawback`)."""
    legs: list[tuple[LedgerAccount, int]] = []
    for entry in transaction.entries:
        account = db.get(LedgerAccount, entry.ledger_account_id)
        assert account is not None
        legs.append((account, -entry.amount))
    return post(
        db=db,
        kind=kind,
        legs=legs,
        clawback=True,
        reference=f"refund:{transaction.reference or transaction.id}",
        actor_id=transaction.actor_id,
        memo=memo,
        details=details,
    )


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
    settle_credits(db)
    if not account.may_go_negative:
        return account.balance
    total = db.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.ledger_account_id == account.id
        )
    )
    return int(total or 0)


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
    """One line of the wallet's history (the API answers it as it is)."""

    id: int
    kind: str
    # The kind in words ("Shop order", "Watched an ad"); `memo` is the line's own description.
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
    settle_credits(db)
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
        if account.balance < 0 and account.kind not in EARNINGS_KINDS:
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
