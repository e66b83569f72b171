"""Payouts in the ledger: earnings -> payouts payable when approved, -> out through payment
clearing when paid. Each step is one balanced transaction with a unique reference."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session

from microdrama.wallet.ledger import EARNINGS_KINDS, K, ledger_account, lock_accounts, post
from microdrama.wallet.models import Currency, LedgerAccount, LedgerAccountKind, LedgerTransaction


class Payout(Protocol):
    """What the ledger reads of a payout request (payouts.models.PayoutRequest; the wallet sits
    below payouts, so it names the fields, not the table)."""

    id: int
    account_id: int
    currency: Currency
    amount: int  # in the earnings' units (coins, or cents)
    amount_cents: int  # the money sent


def earnings_account(
    *, db: Session, kind: LedgerAccountKind, currency: Currency, owner_id: int
) -> LedgerAccount:
    """A person's earnings account (created on first use)."""
    if kind not in EARNINGS_KINDS:
        raise ValueError(f"{kind} is not an earnings account")
    return ledger_account(db=db, kind=kind, currency=currency, owner_id=owner_id)


def lock_earnings(*, db: Session, account: LedgerAccount) -> int:
    """Lock the earnings row (FOR UPDATE; the write lock on SQLite) and return its balance.
    Payout requests for the same account queue here, so together they never exceed it."""
    lock_accounts(db=db, accounts=[account])
    return account.balance


def approve(*, db: Session, payout: Payout, earnings: LedgerAccount) -> LedgerTransaction:
    """Move an approved payout out of the earnings into payouts payable (same currency)."""
    payable = ledger_account(db=db, kind=K.payouts_payable, currency=earnings.currency)
    return post(
        db=db,
        kind="payout",
        legs=[(earnings, -payout.amount), (payable, payout.amount)],
        reference=f"payout:{payout.id}:approved",
        actor_id=payout.account_id,
        memo=f"Payout #{payout.id} approved",
        details={"payout_id": payout.id},
    )


def mark_paid(*, db: Session, payout: Payout) -> LedgerTransaction:
    """Send an approved payout: payouts payable is settled and the money leaves through
    payment clearing. Coins are redeemed (back to issuance) and paid from platform cash."""
    amount, amount_cents = payout.amount, payout.amount_cents
    payable = ledger_account(db=db, kind=K.payouts_payable, currency=payout.currency)
    clearing = ledger_account(db=db, kind=K.payment_clearing, currency=Currency.usd)
    legs: list[tuple[LedgerAccount, int]] = [(payable, -amount)]
    if payout.currency == Currency.usd:
        legs.append((clearing, amount))
    else:
        legs += [
            (ledger_account(db=db, kind=K.coin_issuance, currency=Currency.coin), amount),
            (ledger_account(db=db, kind=K.platform_cash, currency=Currency.usd), -amount_cents),
            (clearing, amount_cents),
        ]
    return post(
        db=db,
        kind="payout_paid",
        legs=legs,
        reference=f"payout:{payout.id}:paid",
        actor_id=payout.account_id,
        memo=f"Payout #{payout.id} sent",
        details={"payout_id": payout.id, "amount_cents": amount_cents},
    )
