"""Paywall service: prices shown honestly, unlocks paid through the wallet, in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import ColumnElement, Integer, Table, bindparam, func, null, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from microdrama.accounts.models import Account
from microdrama.admin import service as admin
from microdrama.catalog import service as catalog
from microdrama.catalog.models import Episode, EpisodeState, Series
from microdrama.config import Settings
from microdrama.db import dialect_insert, utcnow
from microdrama.errors import DomainError, NotFound
from microdrama.payments import catalog as store_catalog
from microdrama.paywall.entitlement import (
    HOLDS_COLUMNS,
    ads_left_today,
    decide_on,
    entitlement,
    ready_episode,
)
from microdrama.paywall.models import Unlock, UnlockMethod
from microdrama.wallet import unlocks, viewer_coins
from microdrama.wallet.models import LedgerTransaction
from microdrama.wording import plural, price_cents

WEEK = timedelta(days=7)


class SpendLimitReached(DomainError, code="spend_limit_reached", status_code=403): ...


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
    return _priced(settings, series, _locked_from(db, viewer, series, from_number))


def _priced(settings: Settings, series: Series, locked: Sequence[Episode]) -> RestOfSeries:
    """The cap price of these locked episodes of the series: never more than their sum."""
    total = len(locked) * series.episode_price_coins
    if series.series_cap_price_coins is not None:
        cap = min(series.series_cap_price_coins, total)
    else:
        cap = total * settings.series_cap_percent // 100
    return RestOfSeries(episodes=len(locked), sum_coins=total, cap_price_coins=cap if locked else 0)


def _viewer(db: Session, viewer_id: int) -> Account:
    viewer = db.get(Account, viewer_id)
    if viewer is None:
        raise NotFound("No such account.", account_id=viewer_id)
    return viewer


def _check_limit(*, limit: int | None, spent: Callable[[], int], price_coins: int) -> None:
    """Refuse a payment past the viewer's weekly limit (spent is only read when one is set)."""
    if limit is None:
        return
    spent_coins = spent()
    if spent_coins + price_coins > limit:
        raise SpendLimitReached(
            f"This would take you past your weekly limit of {limit} coins "
            f"(spent {spent_coins} in the last 7 days). You can change the limit in your account.",
            weekly_limit_coins=limit,
            spent_this_week_coins=spent_coins,
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


_episodes = cast(Table, Episode.__table__)
_series = cast(Table, Series.__table__)
_accounts = cast(Table, Account.__table__)
_unlocks = cast(Table, Unlock.__table__)


# Everything an unlock decides on, in one query: the episode and its series, the viewer,
# whether an unrevoked unlock exists, whether a VIP pass covers now, and the creator's earnings
# account the payment credits. Built once.
_UNLOCK_FACTS = (
    select(
        _episodes.c.number,
        _episodes.c.state,
        _series.c.id.label("series_id"),
        _series.c.title,
        _series.c.owner_id,
        _series.c.free_episodes,
        _series.c.episode_price_coins,
        _accounts.c.id.label("viewer_id"),
        _accounts.c.role,
        _accounts.c.weekly_spend_limit_coins,
        *HOLDS_COLUMNS,
        unlocks.creator_earnings_id_clause(_series.c.owner_id).label("earnings_id"),
    )
    .select_from(
        _episodes.join(_series, _series.c.id == _episodes.c.series_id).outerjoin(
            _accounts, _accounts.c.id == bindparam("viewer_id")
        )
    )
    .where(_episodes.c.id == bindparam("episode_id"))
)


@cache
def _upsert_unlocks(dialect: str) -> Any:
    """INSERT of unlock rows that revives a revoked one (ON CONFLICT DO UPDATE)."""
    return _reviving(dialect_insert(dialect, _unlocks))


def _reviving(upsert: Any) -> Any:
    """An INSERT into unlocks whose conflict (the viewer already had the episode) takes the new
    payment's method, price, transaction and time and clears a revocation."""
    return upsert.on_conflict_do_update(
        index_elements=[_unlocks.c.account_id, _unlocks.c.episode_id],
        set_={
            "method": upsert.excluded.method,
            "price_coins": upsert.excluded.price_coins,
            "ledger_transaction_id": upsert.excluded.ledger_transaction_id,
            "created_at": upsert.excluded.created_at,
            "revoked_at": None,
        },
    )


def _unlocks_bought(transaction_id: ColumnElement[int]) -> Any:
    """PostgreSQL: the unlock rows a payment buys, as an INSERT ... SELECT (the same upsert as
    _grant_unlocks) from the payment's transaction id, sent in the payment's statement."""
    bought = (
        func.unnest(
            bindparam("bought_episode_ids", type_=ARRAY(Integer)),
            bindparam("bought_series_ids", type_=ARRAY(Integer)),
        )
        .table_valued("episode_id", "series_id")
        .render_derived(name="bought")
    )
    upsert = postgresql.insert(_unlocks).from_select(
        [
            "account_id",
            "episode_id",
            "series_id",
            "method",
            "price_coins",
            "ledger_transaction_id",
            "created_at",
            "revoked_at",
        ],
        select(
            bindparam("bought_account_id", type_=_unlocks.c.account_id.type),
            bought.c.episode_id,
            bought.c.series_id,
            bindparam("bought_method", type_=_unlocks.c.method.type),
            bindparam("bought_price_coins", type_=_unlocks.c.price_coins.type),
            transaction_id,
            bindparam("bought_at", type_=_unlocks.c.created_at.type),
            null(),
        ),
    )
    return _reviving(upsert)


@dataclass(frozen=True)
class _Bought:
    """The unlock rows one coin payment buys for a viewer: (episode_id, series_id) pairs."""

    viewer_id: int
    episodes: Sequence[tuple[int, int]]
    method: UnlockMethod
    price_coins: int  # recorded on each row (0 when one series price covers them all)


def _paid_for_unlocks(db: Session, bought: _Bought) -> unlocks.PaidFor:
    """The unlock rows a payment buys, for unlocks.spend_for_unlock to write with the payment."""
    return unlocks.PaidFor(
        statement=_unlocks_bought,
        params={
            "bought_account_id": bought.viewer_id,
            "bought_episode_ids": [episode_id for episode_id, _series_id in bought.episodes],
            "bought_series_ids": [series_id for _episode_id, series_id in bought.episodes],
            "bought_method": bought.method,
            "bought_price_coins": bought.price_coins,
            "bought_at": utcnow(),
        },
        record=lambda transaction_id: _grant_unlocks(db, bought, transaction_id),
    )


def _forget_unlocks(db: Session, bought: _Bought) -> None:
    """Unlock rows just written by Core statements: expire their ORM copies (if any)."""
    for episode_id, _series_id in bought.episodes:
        loaded = db.identity_map.get(identity_key(Unlock, (bought.viewer_id, episode_id)))
        if loaded is not None:
            db.expire(loaded)


def _grant_unlocks(db: Session, bought: _Bought, ledger_transaction_id: int) -> None:
    """grant_unlock for every bought episode in one statement (Core, no ORM)."""
    conn = db.connection()
    now = utcnow()
    conn.execute(
        _upsert_unlocks(conn.dialect.name),
        [
            {
                "account_id": bought.viewer_id,
                "episode_id": episode_id,
                "series_id": series_id,
                "method": bought.method,
                "price_coins": bought.price_coins,
                "ledger_transaction_id": ledger_transaction_id,
                "created_at": now,
                "revoked_at": None,
            }
            for episode_id, series_id in bought.episodes
        ],
    )
    _forget_unlocks(db, bought)


def _pay_for_unlocks(
    db: Session,
    settings: Settings,
    *,
    wallet: unlocks.Wallet,
    weekly_limit: int | None,
    charge: unlocks.UnlockCharge,
    bought: _Bought,
    now: datetime,
    creator_earnings_id: int | None = None,
) -> unlocks.UnlockPayment:
    """Charge the viewer's locked wallet within their weekly limit; the payment writes the
    bought unlock rows with it (unlocks.spend_for_unlock)."""
    _check_limit(
        limit=weekly_limit,
        spent=lambda: unlocks.spent_since(
            db=db, account_id=bought.viewer_id, since=now - WEEK, wallet=wallet
        ),
        price_coins=charge.price_coins,
    )
    payment = unlocks.spend_for_unlock(
        db=db,
        settings=settings,
        viewer_id=bought.viewer_id,
        charge=charge,
        now=now,
        wallet=wallet,
        share_percent=admin.cached_creator_revenue_share_percent(db, settings=settings),
        creator_earnings_id=creator_earnings_id,
        paid_for=_paid_for_unlocks(db, bought),
    )
    _forget_unlocks(db, bought)
    return payment


def unlock_with_coins(
    *, db: Session, settings: Settings, viewer_id: int, episode_id: int, now: datetime | None = None
) -> dict[str, object]:
    """Unlock one episode with coins; free, VIP or already-unlocked episodes cost nothing.

    The hot path of the paywall, in few statements (docs/performance.md): lock the wallet,
    read the facts, pay (unlocks.spend_for_unlock), record the unlock.
    """
    now = now or utcnow()
    # Lock the viewer's wallet before deciding anything: concurrent unlocks of one viewer run
    # one after another, and each sees what the previous one did.
    coins = unlocks.lock_wallet(db=db, account_id=viewer_id)
    facts = (
        db.connection()
        .execute(_UNLOCK_FACTS, {"viewer_id": viewer_id, "episode_id": episode_id, "now": now})
        .first()
    )
    if facts is None or facts.state != EpisodeState.ready:
        raise NotFound("No such episode.", episode_id=episode_id)
    if facts.viewer_id is None:
        raise NotFound("No such account.", account_id=viewer_id)
    current = decide_on(facts, viewer_id=viewer_id)
    if current.allowed:
        balance = unlocks.live_balance(db=db, wallet=coins, owner_id=viewer_id)
        return _answered(episode_id, current.reason, charged=0, balance=balance)
    price = facts.episode_price_coins
    payment = _pay_for_unlocks(
        db,
        settings,
        wallet=coins,
        weekly_limit=facts.weekly_spend_limit_coins,
        charge=unlocks.UnlockCharge(
            creator_id=facts.owner_id,
            price_coins=price,
            reference=f"unlock:{viewer_id}:{episode_id}:{now.timestamp():.6f}",
            memo=f"Unlocked episode {facts.number} of {facts.title}",
            details={"episode_id": episode_id, "series_id": facts.series_id},
        ),
        bought=_Bought(
            viewer_id, [(episode_id, facts.series_id)], UnlockMethod.coins, price_coins=price
        ),
        now=now,
        creator_earnings_id=facts.earnings_id,
    )
    # Expired bonus coins were swept by the payment, so its balance is the live one.
    return _answered(episode_id, "unlocked", charged=price, balance=payment.balance_coins)


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
    coins = unlocks.lock_wallet(db=db, account_id=viewer_id)
    viewer = _viewer(db, viewer_id)
    series = catalog.get_visible(db=db, series_id=series_id, viewer=viewer)
    locked = _locked_from(db, viewer, series, from_number)
    rest = _priced(settings, series, locked)
    if not locked:
        return {
            "series_id": series.id,
            "unlocked_episodes": 0,
            "charged_coins": 0,
            "balance_coins": unlocks.live_balance(db=db, wallet=coins, owner_id=viewer_id),
        }
    payment = _pay_for_unlocks(
        db,
        settings,
        wallet=coins,
        weekly_limit=viewer.weekly_spend_limit_coins,
        charge=unlocks.UnlockCharge(
            creator_id=series.owner_id,
            price_coins=rest.cap_price_coins,
            reference=f"unlock-rest:{viewer.id}:{series.id}:{now.timestamp():.6f}",
            memo=f"Unlocked the rest of {series.title} ({plural(len(locked), 'episode')})",
            details={"series_id": series.id, "episode_ids": [e.id for e in locked]},
        ),
        # Each episode records its share of the cap price so a later refund can be per episode.
        bought=_Bought(
            viewer.id, [(e.id, series.id) for e in locked], UnlockMethod.series, price_coins=0
        ),
        now=now,
    )
    return {
        "series_id": series.id,
        "unlocked_episodes": len(locked),
        "charged_coins": rest.cap_price_coins,
        "balance_coins": payment.balance_coins,
    }


def refund_unlock(*, db: Session, viewer_id: int, episode_id: int, reason: str) -> Unlock:
    """Give a coin unlock's coins back and take the right to play away again."""
    unlock = db.get(Unlock, (viewer_id, episode_id))
    if unlock is None or unlock.revoked_at is not None:
        raise NotFound("No active unlock of that episode.", episode_id=episode_id)
    if unlock.method == UnlockMethod.coins and unlock.ledger_transaction_id is not None:
        transaction = db.get(LedgerTransaction, unlock.ledger_transaction_id)
        assert transaction is not None
        viewer_coins.refund_unlock(db=db, transaction=transaction, reason=reason)
    unlock.revoked_at = utcnow()
    db.flush()
    return unlock


def _answered(episode_id: int, reason: str, *, charged: int, balance: int) -> dict[str, object]:
    return {
        "episode_id": episode_id,
        "allowed": True,
        "reason": reason,
        "charged_coins": charged,
        "balance_coins": balance,
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
    now = now or utcnow()
    episode = ready_episode(db=db, episode_id=episode_id)
    series = episode.series
    current = entitlement(db=db, viewer=viewer, episode=episode, now=now)
    balance = viewer_coins.balances(db=db, account_id=viewer.id)
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
        "ads_left_today": ads_left_today(db=db, settings=settings, viewer_id=viewer.id, now=now),
        "vip_plans": [
            {
                "code": plan.code,
                "name": plan.name,
                "period_days": plan.period_days,
                "price_cents": plan.price_cents,
                "currency": plan.currency,
            }
            for plan in store_catalog.catalog(db=db)[1]
        ],
    }
