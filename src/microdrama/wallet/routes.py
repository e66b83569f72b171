"""Wallet API: balance, history and the daily check-in (see docs/paywall.md)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from microdrama.accounts.deps import CurrentViewer
from microdrama.config import AppSettings
from microdrama.db import DbSession, MoneyTransaction, utcnow
from microdrama.types import BigId
from microdrama.wallet import ledger, unlocks, viewer_coins
from microdrama.wallet.schemas import (
    BonusExpiring,
    CheckinRead,
    CheckinToday,
    History,
    WalletRead,
)

router = APIRouter(prefix="/api/wallet", tags=["wallet"])


@router.get("", response_model=WalletRead)
def wallet(db: DbSession, viewer: CurrentViewer) -> WalletRead:
    """Coins by kind, bonus coins about to expire, and this week's spending against the limit."""
    balance = viewer_coins.balances(db=db, account_id=viewer.id)
    lots = viewer_coins.bonus_expiring(db=db, account_id=viewer.id)
    today = viewer_coins.checkin_state(db=db, account_id=viewer.id, today=utcnow().date())
    return WalletRead(
        paid_coins=balance.paid,
        bonus_coins=balance.bonus,
        total_coins=balance.total,
        bonus_expiring=[
            BonusExpiring(coins=lot.remaining, expires_at=lot.expires_at) for lot in lots
        ],
        weekly_spend_limit_coins=viewer.weekly_spend_limit_coins,
        spent_this_week_coins=unlocks.spent_since(
            db=db, account_id=viewer.id, since=utcnow() - timedelta(days=7)
        ),
        checked_in_today=CheckinToday(coins=today.coins, streak=today.streak) if today else None,
    )


@router.get("/history", response_model=History)
def history(
    db: DbSession,
    viewer: CurrentViewer,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[BigId | None, Query()] = None,
) -> History:
    """Every movement of the viewer's coins and money, newest first."""
    items = ledger.history(db=db, account_id=viewer.id, limit=limit, before_id=before)
    return History(items=items)


@router.post("/checkin", response_model=CheckinRead)
def checkin(settings: AppSettings, viewer: CurrentViewer, apart: MoneyTransaction) -> CheckinRead:
    """Collect today's bonus coins (once a day; streaks pay more)."""

    def effect(money_db: Session) -> CheckinRead:
        result = viewer_coins.daily_checkin(
            db=money_db, settings=settings, account_id=viewer.id, today=utcnow().date()
        )
        balance = viewer_coins.balances(db=money_db, account_id=viewer.id)
        return CheckinRead(**result.__dict__, balance_coins=balance.total)

    return apart.run(effect)
