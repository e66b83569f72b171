"""Paywall: who unlocked which episode, and how (coins, VIP, rewarded ad, free)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from microdrama.db import BIG_ID, Base, CreatedAt, IntPk


class UnlockMethod(enum.StrEnum):
    coins = "coins"
    ad = "ad"
    series = "series"  # bought with the rest of the series at the cap price


class Unlock(Base):
    """A lasting right to play one episode. VIP and free episodes need no row."""

    __tablename__ = "unlocks"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    episode_id: Mapped[int] = mapped_column(
        ForeignKey("episodes.id", ondelete="CASCADE"), primary_key=True
    )
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"), index=True)
    method: Mapped[UnlockMethod]
    price_coins: Mapped[int] = mapped_column(default=0)
    ledger_transaction_id: Mapped[int | None] = mapped_column(
        BIG_ID, ForeignKey("ledger_transactions.id")
    )
    created_at: Mapped[CreatedAt]
    # Set by a refund that takes the unlock back; a revoked unlock grants nothing.
    revoked_at: Mapped[datetime | None]


class AdReward(Base):
    """One verified rewarded-ad view; the ad network's transaction id is unique (no replays)."""

    __tablename__ = "ad_rewards"
    __table_args__ = (Index("ix_ad_rewards_account_time", "account_id", "created_at"),)

    id: Mapped[IntPk]
    transaction_id: Mapped[str] = mapped_column(String(128), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"))
    created_at: Mapped[CreatedAt]
