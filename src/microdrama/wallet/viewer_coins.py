"""Coins in and back: coin pack and VIP credits, bonus lots and their expiry, check-ins, refunds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from microdrama.config import Settings
from microdrama.db import utcnow
from microdrama.wallet.ledger import K, ensure_wallet, ledger_account, lock_accounts, post, reverse
from microdrama.wallet.models import (
    BonusLot,
    Currency,
    DailyCheckin,
    LedgerAccount,
    LedgerTransaction,
)


class PaidPurchase(Protocol):
    """What the wallet reads of a payments purchase (payments.models.Purchase; the wallet sits
    below payments, so it names the fields, not the table)."""

    id: int
    account_id: int
    coins: int
    bonus_coins: int
    amount_cents: int


@dataclass(frozen=True)
class WalletBalance:
    paid: int
    bonus: int

    @property
    def total(self) -> int:
        return self.paid + self.bonus


def balances(*, db: Session, account_id: int) -> WalletBalance:
    """The viewer's spendable coins (bonus coins past expiry are not counted)."""
    paid, _bonus = ensure_wallet(db=db, account_id=account_id)
    return WalletBalance(paid=paid.balance, bonus=live_bonus_coins(db, account_id, utcnow()))


def live_bonus_coins(db: Session, account_id: int, now: datetime) -> int:
    return int(
        db.scalar(
            select(func.coalesce(func.sum(BonusLot.remaining), 0)).where(
                BonusLot.owner_id == account_id, BonusLot.remaining > 0, BonusLot.expires_at > now
            )
        )
        or 0
    )


def credit_coin_purchase(
    *,
    db: Session,
    settings: Settings,
    purchase: PaidPurchase,
    bonus_valid_days: int | None = None,
) -> LedgerTransaction:
    """A paid coin pack: money into clearing, paid coins and a bonus lot into the wallet.

    `bonus_valid_days` is the pack's own validity of its bonus coins (default: configuration).
    """
    account_id, coins, bonus_coins = purchase.account_id, purchase.coins, purchase.bonus_coins
    paid, bonus = ensure_wallet(db=db, account_id=account_id)
    legs: list[tuple[LedgerAccount, int]] = [
        *_clearing_to_cash(db, purchase.amount_cents),
        (ledger_account(db=db, kind=K.coin_issuance, currency=Currency.coin), -coins),
        (paid, coins),
    ]
    if bonus_coins:
        legs += [
            (
                ledger_account(db=db, kind=K.promotions, currency=Currency.coin),
                -bonus_coins,
            ),
            (bonus, bonus_coins),
        ]
    transaction = post(
        db=db,
        kind="purchase",
        legs=legs,
        reference=f"purchase:{purchase.id}",
        actor_id=account_id,
        memo=f"Bought {coins} coins" + (f" + {bonus_coins} bonus" if bonus_coins else ""),
        details={"purchase_id": purchase.id, "amount_cents": purchase.amount_cents},
    )
    if bonus_coins:
        valid_days = bonus_valid_days or settings.bonus_coin_valid_days
        _add_lot(db, account_id, bonus_coins, "pack_bonus", transaction, valid_days=valid_days)
    return transaction


def credit_vip_payment(*, db: Session, purchase: PaidPurchase) -> LedgerTransaction:
    """A paid VIP period: money into clearing and platform cash (the pass is payments' job)."""
    return post(
        db=db,
        kind="vip",
        legs=_clearing_to_cash(db, purchase.amount_cents),
        reference=f"purchase:{purchase.id}",
        actor_id=purchase.account_id,
        memo="VIP pass",
        details={"purchase_id": purchase.id, "amount_cents": purchase.amount_cents},
    )


def _clearing_to_cash(db: Session, amount_cents: int) -> list[tuple[LedgerAccount, int]]:
    """A purchase's money moving from payment clearing to platform cash (a refund passes a
    negative amount: the money goes back out)."""
    return [
        (
            ledger_account(db=db, kind=K.payment_clearing, currency=Currency.usd),
            -amount_cents,
        ),
        (ledger_account(db=db, kind=K.platform_cash, currency=Currency.usd), amount_cents),
    ]


def _add_lot(
    db: Session,
    account_id: int,
    coins: int,
    source: str,
    transaction: LedgerTransaction,
    *,
    valid_days: int,
) -> BonusLot:
    lot = BonusLot(
        owner_id=account_id,
        granted=coins,
        remaining=coins,
        expires_at=utcnow() + timedelta(days=valid_days),
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
    valid_days = valid_days or settings.bonus_coin_valid_days
    _add_lot(db, account_id, coins, source, transaction, valid_days=valid_days)
    return transaction


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


def refund_unlock(*, db: Session, transaction: LedgerTransaction, reason: str) -> LedgerTransaction:
    """Give back the coins of an unlock (as paid coins and fresh bonus) and take back the shares."""
    refund = reverse(
        db=db,
        transaction=transaction,
        kind="unlock_refund",
        memo=reason,
        details={"refunded_transaction_id": transaction.id},
    )
    bonus_back = int(transaction.details.get("bonus_coins", 0) or 0)
    if bonus_back and transaction.actor_id is not None:
        _add_lot(db, transaction.actor_id, bonus_back, "refund", refund, valid_days=30)
    return refund


def refund_purchase(*, db: Session, purchase: PaidPurchase) -> LedgerTransaction:
    """Reverse a purchase's money and take back its coins that are still unspent."""
    account_id, amount_cents = purchase.account_id, purchase.amount_cents
    paid, bonus = ensure_wallet(db=db, account_id=account_id)
    _sweep_expired(db, account_id, utcnow())
    lock_accounts(db=db, accounts=[paid, bonus])
    paid_back = min(purchase.coins, paid.balance)
    lot = db.scalar(
        select(BonusLot)
        .join(LedgerTransaction, LedgerTransaction.id == BonusLot.transaction_id)
        .where(LedgerTransaction.reference == f"purchase:{purchase.id}")
    )
    bonus_back = lot.remaining if lot is not None else 0
    legs: list[tuple[LedgerAccount, int]] = [
        *_clearing_to_cash(db, -amount_cents),
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
        actor_id=account_id,
        memo="Refund"
        + (
            f": {paid_back + bonus_back} unspent coins taken back" if paid_back + bonus_back else ""
        ),
        details={
            "purchase_id": purchase.id,
            "amount_cents": -amount_cents,
            "coins_taken_back": paid_back + bonus_back,
        },
    )
    if lot is not None:
        lot.remaining = 0
        db.flush()
    return transaction


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
