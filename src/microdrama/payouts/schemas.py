"""Statements and payouts API shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from microdrama.payouts.models import PayoutStatus
from microdrama.payouts.service import StatementEntry, StatementLine
from microdrama.types import Text
from microdrama.wallet.models import Currency


class EarningsRead(BaseModel):
    currency: Currency
    balance: int
    pending: int
    available: int
    available_cents: int


class PayoutRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    account_id: int
    currency: Currency
    amount: int
    amount_cents: int
    status: PayoutStatus
    rejection_reason: str | None
    created_at: datetime
    decided_at: datetime | None
    paid_at: datetime | None


class AdminPayoutRead(PayoutRead):
    account_name: str = ""
    account_email: str | None = None
    account_role: str = ""


class EarningsSummary(BaseModel):
    accounts: list[EarningsRead]
    minimum_payout_cents: int
    payouts: list[PayoutRead]


class PayoutCreate(BaseModel):
    """Ask for `amount` of the earnings in `currency` (coins, or cents) to be paid out."""

    model_config = ConfigDict(extra="forbid")

    currency: Currency
    amount: int = Field(gt=0, le=10**12)


class PayoutReject(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: Text = Field(min_length=1, max_length=300)


class CurrencyStatementRead(BaseModel):
    currency: Currency
    opening_balance: int
    closing_balance: int
    lines: list[StatementLine]
    entries: list[StatementEntry]


class StatementRead(BaseModel):
    month: str
    owner_id: int
    owner_name: str
    account_kind: str
    starts_at: datetime
    ends_at: datetime
    generated_at: datetime
    currencies: list[CurrencyStatementRead]


class VipShareLineRead(BaseModel):
    series_id: int
    title: str
    creator_id: int
    creator_name: str = ""
    watch_ms: int
    amount_cents: int
    transaction_id: int | None  # None: not posted (not settled yet, or rounded to nothing)


class VipShareRead(BaseModel):
    month: str
    settled: bool  # posted in the ledger; otherwise what settling would post now
    month_over: bool
    vip_income_cents: int
    share_percent: int
    pool_cents: int
    total_watch_ms: int
    note: str  # why nothing is (or would be) posted; "" otherwise
    shares: list[VipShareLineRead]
