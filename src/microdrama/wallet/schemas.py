"""Wallet schemas: balances, history and check-ins as the wallet page shows them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class BonusExpiring(BaseModel):
    coins: int
    expires_at: datetime


class WalletRead(BaseModel):
    paid_coins: int
    bonus_coins: int
    total_coins: int
    bonus_expiring: list[BonusExpiring]
    weekly_spend_limit_coins: int | None
    spent_this_week_coins: int


class HistoryItemRead(BaseModel):
    id: int
    kind: str
    memo: str
    paid_coins: int
    bonus_coins: int
    amount_cents: int
    created_at: datetime


class History(BaseModel):
    items: list[HistoryItemRead]


class CheckinRead(BaseModel):
    coins: int
    streak: int
    already_checked_in: bool
    balance_coins: int
