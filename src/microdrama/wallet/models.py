"""Wallet: the double-entry ledger, bonus-coin lots and daily check-ins.

Every coin or money movement is one LedgerTransaction whose entries sum to zero per currency.
Balances are kept on LedgerAccount in the same transaction and recomputed by `ledger verify`.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from microdrama.db import BIG_ID, Base, CreatedAt, IntPk


class Currency(enum.StrEnum):
    coin = "COIN"
    usd = "USD"  # amounts in cents


class LedgerAccountKind(enum.StrEnum):
    viewer_paid = "viewer_paid"  # coins bought with money; never expire
    viewer_bonus = "viewer_bonus"  # coins given away; expire; spent first
    creator_earnings = "creator_earnings"  # creator's share of unlocks (COIN) / commerce (USD)
    brand_revenue = "brand_revenue"
    platform_revenue = "platform_revenue"  # platform's share of unlocks / fees
    coin_issuance = "coin_issuance"  # the other side of every coin that enters a wallet
    promotions = "promotions"  # the other side of bonus coins granted / expired
    payment_clearing = "payment_clearing"  # money received from (or refunded through) providers
    platform_cash = "platform_cash"  # money the platform holds
    payouts_payable = "payouts_payable"  # approved payouts not yet sent (platform liability)


class LedgerAccount(Base):
    __tablename__ = "ledger_accounts"
    __table_args__ = (
        UniqueConstraint("kind", "owner_id", "currency"),
        # The platform's own accounts have no owner, and NULLs are distinct to the constraint
        # above: without this index two processes' first sale each made one (then every
        # unlock failed on "more than one row").
        Index(
            "uq_ledger_accounts_platform_kind",
            "kind",
            "currency",
            unique=True,
            sqlite_where=text("owner_id IS NULL"),
            postgresql_where=text("owner_id IS NULL"),
        ),
    )

    id: Mapped[IntPk]
    kind: Mapped[LedgerAccountKind] = mapped_column(
        Enum(LedgerAccountKind, native_enum=False, length=32)
    )
    # The person the account belongs to; None for the platform's own accounts.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    currency: Mapped[Currency] = mapped_column(Enum(Currency, native_enum=False, length=8))
    # Kept for people's accounts (wallets, earnings), in the same transaction as the entries.
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    # The platform's counter-accounts: they may go negative, and their balance is the sum of
    # their entries (a stored one would be a row every posting locks). People's never do.
    may_go_negative: Mapped[bool] = mapped_column(default=False)


class LedgerTransaction(Base):
    __tablename__ = "ledger_transactions"
    __table_args__ = (Index("ix_ledger_transactions_actor_time", "actor_id", "created_at"),)

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # purchase, unlock, refund, bonus, expiry...
    # A unique business reference ("purchase:12:paid") makes double-posting impossible.
    reference: Mapped[str | None] = mapped_column(String(120), unique=True)
    # Whose history this belongs to (the viewer who paid, the creator who earned...).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    memo: Mapped[str] = mapped_column(String(300), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[CreatedAt]

    entries: Mapped[list[LedgerEntry]] = relationship(
        back_populates="transaction", order_by="LedgerEntry.id"
    )


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(
        BIG_ID, ForeignKey("ledger_transactions.id"), index=True
    )
    ledger_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)  # signed, in the account's currency units

    transaction: Mapped[LedgerTransaction] = relationship(back_populates="entries")


class BonusLot(Base):
    """Bonus coins granted together, expiring together; spent oldest-expiry first."""

    __tablename__ = "bonus_lots"
    __table_args__ = (Index("ix_bonus_lots_owner_expiry", "owner_id", "expires_at"),)

    id: Mapped[IntPk]
    owner_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    granted: Mapped[int] = mapped_column(Integer)
    remaining: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(40))  # pack_bonus, checkin, promotion
    transaction_id: Mapped[int] = mapped_column(BIG_ID, ForeignKey("ledger_transactions.id"))
    created_at: Mapped[CreatedAt]


class DailyCheckin(Base):
    __tablename__ = "daily_checkins"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    streak: Mapped[int] = mapped_column(default=1)
    coins: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[CreatedAt]
