"""Paywall service: prices shown honestly, unlocks paid through the wallet, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from microdrama.accounts.models import Account
from microdrama.catalog import service as catalog
from microdrama.catalog.models import Episode, EpisodeState, Series
from microdrama.config import Settings
from microdrama.db import utcnow
from microdrama.errors import DomainError, NotFound
from microdrama.paywall.entitlement import entitlement, price_cents
from microdrama.paywall.models import Unlock, UnlockMethod
from microdrama.wallet import service as wallet

WEEK = timedelta(days=7)


class SpendLimitReached(DomainError):
    status_code = 403
    code = "spend_limit_reached"


@dataclass(frozen=True)
class RestOfSeries:
    episodes: int
    sum_coins: int
    cap_price_coins: int


def _locked_from(db: Session, viewer: Account, series: Series, from_number: int) -> list[Episode]:
    """Ready episodes from from_number on that the viewer cannot play yet."""
    unlocked = set(
        db.scalars(
            select(Unlock.episode_id).where(
                Unlock.account_id == viewer.id,
                Unlock.series_id == series.id,
                Unlock.revoked_at.is_(None),
            )
        )
    )
    return [
        e
        for e in series.episodes
        if e.state == EpisodeState.ready
        and e.number >= from_number
        and e.number > series.free_episodes
        and e.id not in unlocked
    ]


def rest_of_series(
    *, db: Session, settings: Settings, viewer: Account, series: Series, from_number: int
) -> RestOfSeries:
    """The price of every still-locked episode from here on: never more than their sum."""
    locked = _locked_from(db, viewer, series, from_number)
    total = len(locked) * series.episode_price_coins
    if series.series_cap_price_coins is not None:
        cap = min(series.series_cap_price_coins, total)
    else:
        cap = total * settings.series_cap_percent // 100
    return RestOfSeries(episodes=len(locked), sum_coins=total, cap_price_coins=cap if locked else 0)


def _ready_episode(db: Session, episode_id: int) -> Episode:
    episode = catalog.get_episode(db=db, episode_id=episode_id)
    if episode is None or episode.state != EpisodeState.ready:
        raise NotFound("No such episode.", episode_id=episode_id)
    return episode


def _viewer(db: Session, viewer_id: int) -> Account:
    viewer = db.get(Account, viewer_id)
    if viewer is None:
        raise NotFound("No such account.", account_id=viewer_id)
    return viewer


def _check_spend_limit(*, db: Session, viewer: Account, price_coins: int, now: datetime) -> None:
    limit = viewer.weekly_spend_limit_coins
    if limit is None:
        return
    spent = wallet.spent_since(db=db, account_id=viewer.id, since=now - WEEK)
    if spent + price_coins > limit:
        raise SpendLimitReached(
            f"This would take you past your weekly limit of {limit} coins "
            f"(spent {spent} in the last 7 days). You can change the limit in your account.",
            weekly_limit_coins=limit,
            spent_this_week_coins=spent,
            price_coins=price_coins,
        )


def grant_unlock(
    *,
    db: Session,
    viewer_id: int,
    episode: Episode,
    method: UnlockMethod,
    price_coins: int = 0,
    ledger_transaction_id: int | None = None,
) -> Unlock:
    """Record a lasting right to play the episode (reviving a revoked one)."""
    unlock = db.get(Unlock, (viewer_id, episode.id))
    if unlock is None:
        unlock = Unlock(account_id=viewer_id, episode_id=episode.id, series_id=episode.series_id)
        db.add(unlock)
    unlock.method = method
    unlock.price_coins = price_coins
    unlock.ledger_transaction_id = ledger_transaction_id
    unlock.revoked_at = None
    unlock.created_at = utcnow()
    db.flush()
    return unlock


def unlock_with_coins(
    *, db: Session, settings: Settings, viewer_id: int, episode_id: int, now: datetime | None = None
) -> dict[str, object]:
    """Unlock one episode with coins; free, VIP or already-unlocked episodes cost nothing."""
    now = now or utcnow()
    episode = _ready_episode(db, episode_id)
    series = episode.series
    # Lock the viewer's wallet before deciding anything: concurrent unlocks of one viewer run
    # one after another, and each sees what the previous one did.
    paid, bonus = wallet.ensure_wallet(db=db, account_id=viewer_id)
    wallet.lock_accounts(db=db, accounts=[paid, bonus])
    viewer = _viewer(db, viewer_id)
    current = entitlement(db=db, viewer=viewer, episode=episode, now=now)
    if current.allowed:
        return _answer(db, viewer, episode, current.reason, charged=0)
    price = series.episode_price_coins
    _check_spend_limit(db=db, viewer=viewer, price_coins=price, now=now)
    transaction = wallet.spend_for_unlock(
        db=db,
        settings=settings,
        viewer_id=viewer.id,
        creator_id=series.owner_id,
        price_coins=price,
        reference=f"unlock:{viewer.id}:{episode.id}:{now.timestamp():.6f}",
        memo=f"Unlocked {series.title} · episode {episode.number}",
        details={"episode_id": episode.id, "series_id": series.id},
        now=now,
    )
    grant_unlock(
        db=db,
        viewer_id=viewer.id,
        episode=episode,
        method=UnlockMethod.coins,
        price_coins=price,
        ledger_transaction_id=transaction.id,
    )
    # Expired bonus coins were swept by the debit, so the locked balances are the live ones.
    return _answer(
        db, viewer, episode, "unlocked", charged=price, balance=paid.balance + bonus.balance
    )


def unlock_rest_of_series(
    *,
    db: Session,
    settings: Settings,
    viewer_id: int,
    series_id: int,
    from_number: int = 1,
    now: datetime | None = None,
) -> dict[str, object]:
    """Buy every still-locked episode of the series at the cap price, in one payment."""
    now = now or utcnow()
    paid, bonus = wallet.ensure_wallet(db=db, account_id=viewer_id)
    wallet.lock_accounts(db=db, accounts=[paid, bonus])
    viewer = _viewer(db, viewer_id)
    series = catalog.get_visible(db=db, series_id=series_id, viewer=viewer)
    locked = _locked_from(db, viewer, series, from_number)
    rest = rest_of_series(
        db=db, settings=settings, viewer=viewer, series=series, from_number=from_number
    )
    if not locked:
        return {
            "series_id": series.id,
            "unlocked_episodes": 0,
            "charged_coins": 0,
            "balance_coins": wallet.balances(db=db, account_id=viewer.id).total,
        }
    _check_spend_limit(db=db, viewer=viewer, price_coins=rest.cap_price_coins, now=now)
    transaction = wallet.spend_for_unlock(
        db=db,
        settings=settings,
        viewer_id=viewer.id,
        creator_id=series.owner_id,
        price_coins=rest.cap_price_coins,
        reference=f"unlock-rest:{viewer.id}:{series.id}:{now.timestamp():.6f}",
        memo=f"Unlocked the rest of {series.title} ({len(locked)} episodes)",
        details={"series_id": series.id, "episode_ids": [e.id for e in locked]},
        now=now,
    )
    # Each episode records its share of the cap price so a later refund can be per episode.
    for episode in locked:
        grant_unlock(
            db=db,
            viewer_id=viewer.id,
            episode=episode,
            method=UnlockMethod.series,
            price_coins=0,
            ledger_transaction_id=transaction.id,
        )
    return {
        "series_id": series.id,
        "unlocked_episodes": len(locked),
        "charged_coins": rest.cap_price_coins,
        "balance_coins": wallet.balances(db=db, account_id=viewer.id).total,
    }


def refund_unlock(*, db: Session, viewer_id: int, episode_id: int, reason: str) -> Unlock:
    """Give a coin unlock's coins back and take the right to play away again."""
    unlock = db.get(Unlock, (viewer_id, episode_id))
    if unlock is None or unlock.revoked_at is not None:
        raise NotFound("No active unlock of that episode.", episode_id=episode_id)
    if unlock.method == UnlockMethod.coins and unlock.ledger_transaction_id is not None:
        from microdrama.wallet.models import LedgerTransaction

        transaction = db.get(LedgerTransaction, unlock.ledger_transaction_id)
        assert transaction is not None
        wallet.refund_unlock(db=db, transaction=transaction, reason=reason)
    unlock.revoked_at = utcnow()
    db.flush()
    return unlock


def _answer(
    db: Session,
    viewer: Account,
    episode: Episode,
    reason: str,
    *,
    charged: int,
    balance: int | None = None,
) -> dict[str, object]:
    return {
        "episode_id": episode.id,
        "allowed": True,
        "reason": reason,
        "charged_coins": charged,
        "balance_coins": balance
        if balance is not None
        else wallet.balances(db=db, account_id=viewer.id).total,
    }


def access(
    *,
    db: Session,
    settings: Settings,
    viewer: Account,
    episode_id: int,
    now: datetime | None = None,
) -> dict[str, object]:
    """Everything the paywall sheet shows: can I play it, and if not, every way to get it."""
    from microdrama.payments import service as payments
    from microdrama.paywall import ads  # ads builds on this module: imported at call time

    now = now or utcnow()
    episode = _ready_episode(db, episode_id)
    series = episode.series
    current = entitlement(db=db, viewer=viewer, episode=episode, now=now)
    balance = wallet.balances(db=db, account_id=viewer.id)
    rest = rest_of_series(
        db=db, settings=settings, viewer=viewer, series=series, from_number=episode.number
    )
    return {
        "episode_id": episode.id,
        "series_id": series.id,
        "episode_number": episode.number,
        "allowed": current.allowed,
        "reason": current.reason,
        "price_coins": series.episode_price_coins,
        "price_cents": price_cents(settings=settings, coins=series.episode_price_coins),
        "balance_coins": balance.total,
        "paid_coins": balance.paid,
        "bonus_coins": balance.bonus,
        "rest_of_series": {
            "episodes": rest.episodes,
            "sum_coins": rest.sum_coins,
            "cap_price_coins": rest.cap_price_coins,
            "cap_price_cents": price_cents(settings=settings, coins=rest.cap_price_coins),
        },
        "auto_unlock": viewer.auto_unlock,
        "weekly_spend_limit_coins": viewer.weekly_spend_limit_coins,
        "ads_left_today": ads.ads_left_today(
            db=db, settings=settings, viewer_id=viewer.id, now=now
        ),
        "vip_plans": [
            {
                "code": plan.code,
                "name": plan.name,
                "period_days": plan.period_days,
                "price_cents": plan.price_cents,
                "currency": plan.currency,
            }
            for plan in payments.catalog(db=db)[1]
        ],
    }
