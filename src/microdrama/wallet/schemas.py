"""Wallet schemas: balances, history and check-ins as the wallet page shows them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from microdrama.wallet.ledger import HistoryItem


class BonusExpiring(BaseModel):
    coins: int
    expires_at: datetime


class CheckinToday(BaseModel):
    """Today's check-in, already made: the wallet shows it instead of an active button."""

    coins: int
    streak: int


class WalletRead(BaseModel):
    paid_coins: int
    bonus_coins: int
    total_coins: int
    bonus_expiring: list[BonusExpiring]
    weekly_spend_limit_coins: int | None
    spent_this_week_coins: int
    # None until the account checks in today (in UTC days, as the check-in itself counts).
    checked_in_today: CheckinToday | None = None


class History(BaseModel):
    items: list[HistoryItem]


class CheckinRead(BaseModel):
    coins: int
    streak: int
    already_checked_in: bool
    balance_coins: int
