"""Payout requests: a creator or brand asks for (part of) their earnings to be paid out."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from microdrama.db import BIG_ID, Base, CreatedAt, IntPk
from microdrama.wallet.models import Currency


class PayoutStatus(enum.StrEnum):
    pending = "pending"  # the amount is held: it cannot be requested twice
    approved = "approved"  # moved from earnings to payouts payable in the ledger
    rejected = "rejected"  # nothing moved; the hold is released
    paid = "paid"  # sent out through payment clearing


class PayoutRequest(Base):
    __tablename__ = "payout_requests"
    __table_args__ = (
        Index("ix_payout_requests_ledger_account_status", "ledger_account_id", "status"),
        Index("ix_payout_requests_status_created", "status", "created_at"),
    )

    id: Mapped[IntPk]
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    # The earnings account paid out of (creator earnings in coins or dollars, brand revenue).
    ledger_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    currency: Mapped[Currency] = mapped_column(Enum(Currency, native_enum=False, length=8))
    # In the earnings account's units (coins, or cents).
    amount: Mapped[int] = mapped_column(BigInteger)
    # The money sent, frozen at request time (coins converted at the coin's value).
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[PayoutStatus] = mapped_column(default=PayoutStatus.pending)
    rejection_reason: Mapped[str | None] = mapped_column(String(300))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[CreatedAt]
    decided_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    approve_transaction_id: Mapped[int | None] = mapped_column(
        BIG_ID, ForeignKey("ledger_transactions.id")
    )
    paid_transaction_id: Mapped[int | None] = mapped_column(
        BIG_ID, ForeignKey("ledger_transactions.id")
    )
