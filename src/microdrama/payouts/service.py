"""Statements and payouts: what a creator or brand earned, read from the ledger only, and the
flow that pays it out (request -> an admin approves or rejects -> marked paid).

A statement lists the entries on the person's earnings accounts in one calendar month (UTC),
grouped by what caused them, between an opening and a closing balance recomputed from the
entries: the closing balance of the current month is the ledger's balance to the unit.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from microdrama.accounts.models import Account
from microdrama.admin import service as platform
from microdrama.config import Settings
from microdrama.db import utcnow
from microdrama.errors import Conflict, DomainError, NotFound
from microdrama.payouts.models import PayoutRequest, PayoutStatus
from microdrama.wallet import payouts as ledger
from microdrama.wallet.models import (
    Currency,
    LedgerAccount,
    LedgerAccountKind,
    LedgerEntry,
    LedgerTransaction,
)

MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"


# --- errors users can hit -------------------------------------------------------------------


class InvalidMonth(DomainError, code="invalid_month", status_code=422): ...


class NoEarnings(NotFound, code="no_earnings"): ...


class PayoutBelowMinimum(DomainError, code="payout_below_minimum", status_code=422): ...


class PayoutExceedsAvailable(Conflict, code="payout_exceeds_available"): ...


class PayoutNotFound(NotFound, code="payout_not_found"): ...


class PayoutAlreadyDecided(Conflict, code="payout_already_decided"): ...


class EarningsReduced(Conflict, code="earnings_reduced"): ...


# --- months ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        if not re.match(MONTH_PATTERN, text):
            raise InvalidMonth("A month is written YYYY-MM, e.g. 2026-11.", month=text)
        found = cls(int(text[:4]), int(text[5:]))
        if found > cls.of(utcnow()):
            raise InvalidMonth("That month has not started yet.", month=text)
        return found

    @classmethod
    def of(cls, moment: datetime) -> Month:
        moment = moment.astimezone(UTC)
        return cls(moment.year, moment.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def __lt__(self, other: Month) -> bool:
        return (self.year, self.month) < (other.year, other.month)

    def __gt__(self, other: Month) -> bool:
        return (self.year, self.month) > (other.year, other.month)

    @property
    def starts_at(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def ends_at(self) -> datetime:
        following = self.next()
        return datetime(following.year, following.month, 1, tzinfo=UTC)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    @property
    def title(self) -> str:
        return date(self.year, self.month, 1).strftime("%B %Y")


# --- statements -----------------------------------------------------------------------------

CATEGORY_LABELS = {
    "unlock_share": "Unlock share",
    "vip_share": "VIP share",
    "commerce": "Commerce",
    "refunds": "Refunds and reversals",
    "payouts": "Payouts",
    "other": "Other",
}


def category(kind: str, account_kind: LedgerAccountKind) -> str:
    """The statement line a ledger transaction kind belongs to."""
    if kind == "unlock":
        return "unlock_share"
    if "refund" in kind or "reversal" in kind or "chargeback" in kind:
        return "refunds"
    if kind.startswith("vip"):
        return "vip_share"
    if kind.startswith("payout"):
        return "payouts"
    if kind.startswith(("order", "commission", "commerce", "sale")):
        return "commerce"
    return "other"


def category_label(name: str, account_kind: LedgerAccountKind) -> str:
    if name == "commerce":
        return "Brand revenue" if account_kind == LedgerAccountKind.brand_revenue else "Commission"
    return CATEGORY_LABELS[name]


@dataclass(frozen=True)
class StatementEntry:
    transaction_id: int
    at: datetime
    kind: str
    category: str
    label: str
    memo: str
    amount: int
    balance_after: int


@dataclass(frozen=True)
class StatementLine:
    category: str
    label: str
    count: int
    amount: int


@dataclass
class CurrencyStatement:
    ledger_account_id: int
    currency: Currency
    opening_balance: int
    closing_balance: int
    lines: list[StatementLine] = field(default_factory=list)
    entries: list[StatementEntry] = field(default_factory=list)


@dataclass
class Statement:
    owner_id: int
    owner_name: str
    account_kind: LedgerAccountKind
    month: Month
    generated_at: datetime
    currencies: list[CurrencyStatement]


def _earnings_accounts(db: Session, owner_id: int, kind: LedgerAccountKind) -> list[LedgerAccount]:
    return list(
        db.scalars(
            select(LedgerAccount)
            .where(LedgerAccount.owner_id == owner_id, LedgerAccount.kind == kind)
            .order_by(LedgerAccount.currency)
        )
    )


def monthly_statement(
    *, db: Session, owner: Account, kind: LedgerAccountKind, month: Month
) -> Statement:
    """The month's entries on the owner's earnings accounts of this kind, from the ledger."""
    currencies = []
    for account in _earnings_accounts(db, owner.id, kind):
        opening = int(
            db.scalar(
                select(func.coalesce(func.sum(LedgerEntry.amount), 0))
                .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
                .where(
                    LedgerEntry.ledger_account_id == account.id,
                    LedgerTransaction.created_at < month.starts_at,
                )
            )
            or 0
        )
        # One row per transaction: its net amount on this account.
        transaction = (
            LedgerTransaction.id,
            LedgerTransaction.created_at,
            LedgerTransaction.kind,
            LedgerTransaction.memo,
        )
        rows = db.execute(
            select(*transaction, func.sum(LedgerEntry.amount))
            .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
            .where(
                LedgerEntry.ledger_account_id == account.id,
                LedgerTransaction.created_at >= month.starts_at,
                LedgerTransaction.created_at < month.ends_at,
            )
            .group_by(*transaction)
            .order_by(LedgerTransaction.created_at, LedgerTransaction.id)
        ).all()
        running = opening
        entries = []
        totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for transaction_id, at, tx_kind, memo, amount in rows:
            amount = int(amount)
            running += amount
            name = category(tx_kind, kind)
            totals[name][0] += 1
            totals[name][1] += amount
            entries.append(
                StatementEntry(
                    transaction_id=transaction_id,
                    at=at,
                    kind=tx_kind,
                    category=name,
                    label=category_label(name, kind),
                    memo=memo,
                    amount=amount,
                    balance_after=running,
                )
            )
        lines = [
            StatementLine(name, category_label(name, kind), count, amount)
            for name in CATEGORY_LABELS
            if name in totals
            for count, amount in [totals[name]]
        ]
        currencies.append(
            CurrencyStatement(account.id, account.currency, opening, running, lines, entries)
        )
    return Statement(
        owner_id=owner.id,
        owner_name=owner.display_name,
        account_kind=kind,
        month=month,
        generated_at=utcnow(),
        currencies=currencies,
    )


def _cell(text: str) -> str:
    """Text a spreadsheet will not run as a formula (titles in memos come from users)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def statement_csv(statement: Statement) -> str:
    """One row per ledger transaction with the running balance, between opening and closing
    rows per currency (a spreadsheet's SUM of `amount` gives closing - opening)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["month", "currency", "date", "transaction_id", "kind", "category", "description",
         "amount", "balance"]
    )  # fmt: skip
    month = str(statement.month)
    for section in statement.currencies:
        currency = section.currency.value
        writer.writerow(
            [month, currency, statement.month.starts_at.date().isoformat(), "", "opening_balance",
             "", "Opening balance", "", section.opening_balance]
        )  # fmt: skip
        for entry in section.entries:
            writer.writerow(
                [month, currency, entry.at.astimezone(UTC).isoformat(timespec="seconds"),
                 entry.transaction_id, entry.kind, entry.category, _cell(entry.memo), entry.amount,
                 entry.balance_after]
            )  # fmt: skip
        writer.writerow(
            [month, currency, "", "", "closing_balance", "", "Closing balance", "",
             section.closing_balance]
        )  # fmt: skip
    return out.getvalue()


def statement_months(*, db: Session, owner: Account, kind: LedgerAccountKind) -> list[Month]:
    """Every month from the first entry on the owner's earnings to now, newest first."""
    ids = [a.id for a in _earnings_accounts(db, owner.id, kind)]
    first = (
        db.scalar(
            select(func.min(LedgerTransaction.created_at))
            .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
            .where(LedgerEntry.ledger_account_id.in_(ids))
        )
        if ids
        else None
    )
    now = Month.of(utcnow())
    month = Month.of(first) if first is not None else now
    months = [month]
    while month < now:
        month = month.next()
        months.append(month)
    return list(reversed(months))


# --- balances and payout requests -----------------------------------------------------------


@dataclass(frozen=True)
class Earnings:
    currency: Currency
    balance: int
    pending: int  # held by payout requests waiting for an admin
    available: int
    available_cents: int


def to_cents(*, settings: Settings, currency: Currency, amount: int) -> int:
    """What an amount of earnings is paid out as, in cents (coins at the coin's value)."""
    if currency == Currency.usd:
        return amount
    return amount * settings.coin_value_millicents // 1000


def _pending(db: Session, ledger_account_id: int) -> int:
    return int(
        db.scalar(
            select(func.coalesce(func.sum(PayoutRequest.amount), 0)).where(
                PayoutRequest.ledger_account_id == ledger_account_id,
                PayoutRequest.status == PayoutStatus.pending,
            )
        )
        or 0
    )


def earnings(
    *, db: Session, settings: Settings, owner: Account, kind: LedgerAccountKind
) -> list[Earnings]:
    """Balance, held and available amounts of each of the owner's earnings accounts."""
    result = []
    for account in _earnings_accounts(db, owner.id, kind):
        pending = _pending(db, account.id)
        # A refund after a request can leave less than is held: nothing is available then.
        available = max(0, account.balance - pending)
        result.append(
            Earnings(
                currency=account.currency,
                balance=account.balance,
                pending=pending,
                available=available,
                available_cents=to_cents(
                    settings=settings, currency=account.currency, amount=available
                ),
            )
        )
    return result


def request_payout(
    *,
    db: Session,
    settings: Settings,
    owner: Account,
    kind: LedgerAccountKind,
    currency: Currency,
    amount: int,
) -> PayoutRequest:
    """Hold `amount` of the owner's available earnings for an admin to pay out.

    The earnings row is locked first, so concurrent requests are decided one after another
    and together never exceed the balance."""
    if kind == LedgerAccountKind.brand_revenue and currency != Currency.usd:
        raise NoEarnings("Brand revenue is only kept in dollars.", currency=currency.value)
    account = ledger.earnings_account(db=db, kind=kind, currency=currency, owner_id=owner.id)
    balance = ledger.lock_earnings(db=db, account=account)
    available = max(0, balance - _pending(db, account.id))
    minimum_cents = platform.payout_minimum_cents(db, settings=settings)
    amount_cents = to_cents(settings=settings, currency=currency, amount=amount)
    if amount_cents < minimum_cents:
        raise PayoutBelowMinimum(
            f"The smallest payout is ${minimum_cents / 100:,.2f}.",
            minimum_cents=minimum_cents,
            amount_cents=amount_cents,
        )
    if amount > available:
        raise PayoutExceedsAvailable(
            f"You can request at most {available:,} {_unit(currency)} now "
            "(payouts waiting for approval are held).",
            available=available,
            requested=amount,
            currency=currency.value,
        )
    payout = PayoutRequest(
        account_id=owner.id,
        ledger_account_id=account.id,
        currency=currency,
        amount=amount,
        amount_cents=amount_cents,
        status=PayoutStatus.pending,
    )
    db.add(payout)
    db.flush()
    return payout


def _unit(currency: Currency) -> str:
    return "coins" if currency == Currency.coin else "cents"


def list_payouts(
    *,
    db: Session,
    owner_id: int | None = None,
    kind: LedgerAccountKind | None = None,
    status: PayoutStatus | None = None,
    limit: int = 100,
) -> list[PayoutRequest]:
    """Payout requests, newest first: one owner's (of one kind of earnings), or everyone's."""
    query = select(PayoutRequest)
    if owner_id is not None:
        query = query.where(PayoutRequest.account_id == owner_id)
    if kind is not None:
        query = query.join(
            LedgerAccount, LedgerAccount.id == PayoutRequest.ledger_account_id
        ).where(LedgerAccount.kind == kind)
    if status is not None:
        query = query.where(PayoutRequest.status == status)
    return list(
        db.scalars(
            query.order_by(PayoutRequest.created_at.desc(), PayoutRequest.id.desc()).limit(limit)
        )
    )


def _locked_payout(db: Session, payout_id: int) -> PayoutRequest:
    payout = db.scalar(
        select(PayoutRequest)
        .where(PayoutRequest.id == payout_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if payout is None:
        raise PayoutNotFound("No such payout request.", payout_id=payout_id)
    return payout


def _require_status(payout: PayoutRequest, *allowed: PayoutStatus) -> None:
    if payout.status not in allowed:
        raise PayoutAlreadyDecided(
            f"This payout is {payout.status.value}.",
            payout_id=payout.id,
            status=payout.status.value,
        )


def approve_payout(*, db: Session, admin: Account, payout_id: int) -> PayoutRequest:
    """Approve a pending payout: its amount leaves the earnings for payouts payable."""
    payout = _locked_payout(db, payout_id)
    _require_status(payout, PayoutStatus.pending)
    account = db.get(LedgerAccount, payout.ledger_account_id)
    assert account is not None
    balance = ledger.lock_earnings(db=db, account=account)
    if balance < payout.amount:
        # A refund took part of the earnings back since the request was made.
        raise EarningsReduced(
            "The earnings are now below this payout (a refund took some back); reject it "
            "and ask for a new one.",
            balance=balance,
            amount=payout.amount,
        )
    transaction = ledger.approve(db=db, payout=payout, earnings=account)
    payout.status = PayoutStatus.approved
    payout.decided_by_id, payout.decided_at = admin.id, utcnow()
    payout.approve_transaction_id = transaction.id
    db.flush()
    return payout


def reject_payout(*, db: Session, admin: Account, payout_id: int, reason: str) -> PayoutRequest:
    """Reject a pending payout: nothing moves in the ledger and the hold is released."""
    payout = _locked_payout(db, payout_id)
    _require_status(payout, PayoutStatus.pending)
    payout.status = PayoutStatus.rejected
    payout.rejection_reason = reason
    payout.decided_by_id, payout.decided_at = admin.id, utcnow()
    db.flush()
    return payout


def mark_paid(*, db: Session, admin: Account, payout_id: int) -> PayoutRequest:
    """Record that an approved payout was sent: it leaves through payment clearing."""
    payout = _locked_payout(db, payout_id)
    _require_status(payout, PayoutStatus.approved)
    transaction = ledger.mark_paid(db=db, payout=payout)
    payout.status = PayoutStatus.paid
    payout.paid_at = utcnow()
    payout.paid_transaction_id = transaction.id
    db.flush()
    return payout
