"""Entitlement: the single answer to "can this viewer play this episode", used by every gate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as day_time
from typing import Any, Literal, cast

from sqlalchemy import Row, Table, bindparam, exists, func, select
from sqlalchemy.orm import Session

from microdrama.accounts.models import Account, Role
from microdrama.catalog import service as catalog
from microdrama.catalog.models import Episode, EpisodeState, Series
from microdrama.config import Settings
from microdrama.db import UTCDateTime, utcnow
from microdrama.errors import DomainError, NotFound
from microdrama.media.models import MediaAsset
from microdrama.payments import vip
from microdrama.paywall.models import AdReward, Unlock
from microdrama.wording import price_cents

Reason = Literal["free", "unlocked", "vip", "owner", "locked"]


@dataclass(frozen=True)
class Entitlement:
    allowed: bool
    reason: Reason


class EpisodeLocked(DomainError, code="episode_locked", status_code=403): ...


def ready_episode(*, db: Session, episode_id: int, viewer: Account | None = None) -> Episode:
    """The episode if it is ready to play, NotFound else; given a viewer, also only if its
    series is visible to them."""
    episode = catalog.get_episode_to_play(db=db, episode_id=episode_id)
    if episode is None or episode.state != EpisodeState.ready:
        raise NotFound("No such episode.", episode_id=episode_id)
    if viewer is not None:
        # The episode's own series (one row by its key), not get_visible's series with every
        # episode and asset: this runs for every playlist and key a player asks for.
        catalog.require_visible(series=episode.series, viewer=viewer)
    return episode


def episode_locked_error(*, settings: Settings, episode: Episode) -> EpisodeLocked:
    """The 403 a non-entitled viewer gets, with the price to unlock the episode."""
    series: Series = episode.series
    return EpisodeLocked(
        f"Episode {episode.number} is locked: unlock it to watch.",
        episode_id=episode.id,
        series_id=series.id,
        price_coins=series.episode_price_coins,
        price_cents=price_cents(settings=settings, coins=series.episode_price_coins),
    )


def has_active_vip(*, db: Session, account_id: int, now: datetime) -> bool:
    """Whether the account holds a VIP pass at `now` (expired and refunded passes never do)."""
    return vip.active_vip(db=db, account_id=account_id, now=now) is not None


def has_unlock(*, db: Session, account_id: int, episode_id: int) -> bool:
    """Whether the account holds an unrevoked unlock of the episode."""
    return (
        db.scalar(
            select(Unlock.episode_id).where(
                Unlock.account_id == account_id,
                Unlock.episode_id == episode_id,
                Unlock.revoked_at.is_(None),
            )
        )
        is not None
    )


_episodes = cast(Table, Episode.__table__)
_series = cast(Table, Series.__table__)
_assets = cast(Table, MediaAsset.__table__)
_accounts = cast(Table, Account.__table__)
_unlocks = cast(Table, Unlock.__table__)

# `decide`'s two questions as columns of a query on episodes (binds `viewer_id` and `now`):
# an unrevoked unlock of the episode, a VIP pass covering now. The unlock's facts and the key's.
HOLDS_COLUMNS = (
    exists()
    .where(
        _unlocks.c.account_id == bindparam("viewer_id"),
        _unlocks.c.episode_id == _episodes.c.id,
        _unlocks.c.revoked_at.is_(None),
    )
    .label("unlocked"),
    vip.has_active_vip_clause(
        account_id=bindparam("viewer_id"), now=bindparam("now", type_=UTCDateTime())
    ).label("vip"),
)

# What a segment key's check needs, in one query: the episode, its series' visibility and
# paywall, the viewer's role, an unrevoked unlock, a VIP pass covering now, and the key.
_KEY_FACTS = (
    select(
        _episodes.c.number,
        _episodes.c.state,
        _series.c.status,
        _series.c.published_at,
        _series.c.owner_id,
        _series.c.free_episodes,
        _accounts.c.role,
        *HOLDS_COLUMNS,
        _assets.c.aes_key,
    )
    .select_from(
        _episodes.join(_series, _series.c.id == _episodes.c.series_id)
        .join(_assets, _assets.c.id == _episodes.c.media_asset_id)
        .join(_accounts, _accounts.c.id == bindparam("viewer_id"))
    )
    .where(_episodes.c.id == bindparam("episode_id"))
)


def decide_on(facts: Row[*tuple[Any, ...]], *, viewer_id: int) -> Entitlement:
    """`decide` on a row that read the facts with `HOLDS_COLUMNS` (the episode's number, its
    series' free episodes and owner, the viewer's role, `unlocked` and `vip`)."""
    return decide(
        episode_number=facts.number,
        free_episodes=facts.free_episodes,
        owner_id=facts.owner_id,
        viewer_id=viewer_id,
        viewer_role=facts.role,
        has_unlock=lambda: bool(facts.unlocked),
        has_vip=lambda: bool(facts.vip),
    )


def proven_key(*, db: Session, viewer_id: int, episode_id: int) -> bytes | None:
    """The episode's segment key when one query proves the viewer may play it now: ready, its
    series live, and entitled by `decide`. None when only the full check (`ready_episode`
    and `entitlement`, which explain a refusal) can tell: a locked or unknown episode, a
    series the viewer sees only as its editor, an unencrypted video."""
    now = utcnow()
    facts = (
        db.connection()
        .execute(_KEY_FACTS, {"viewer_id": viewer_id, "episode_id": episode_id, "now": now})
        .first()
    )
    if (
        facts is None
        or facts.aes_key is None
        or facts.state != EpisodeState.ready
        or not catalog.is_live_as(facts.status, facts.published_at, now)
    ):
        return None
    allowed = decide_on(facts, viewer_id=viewer_id).allowed
    key: bytes | None = facts.aes_key if allowed else None
    return key


def entitlement(
    *, db: Session, viewer: Account | None, episode: Episode, now: datetime | None = None
) -> Entitlement:
    """Whether the viewer may play the episode now, and why."""
    series: Series = episode.series
    return decide(
        episode_number=episode.number,
        free_episodes=series.free_episodes,
        owner_id=series.owner_id,
        viewer_id=viewer.id if viewer is not None else None,
        viewer_role=viewer.role if viewer is not None else None,
        has_unlock=lambda: (
            viewer is not None and has_unlock(db=db, account_id=viewer.id, episode_id=episode.id)
        ),
        has_vip=lambda: (
            viewer is not None and has_active_vip(db=db, account_id=viewer.id, now=now or utcnow())
        ),
    )


def decide(
    *,
    episode_number: int,
    free_episodes: int,
    owner_id: int,
    viewer_id: int | None,
    viewer_role: Role | None,
    has_unlock: Callable[[], bool],
    has_vip: Callable[[], bool],
) -> Entitlement:
    """The rule itself, on facts already known (the unlock path reads them in one query)."""
    if episode_number <= free_episodes:
        return Entitlement(True, "free")
    if viewer_id is None:
        return Entitlement(False, "locked")
    if viewer_id == owner_id or viewer_role == Role.admin:
        return Entitlement(True, "owner")
    if has_unlock():
        return Entitlement(True, "unlocked")
    if has_vip():
        return Entitlement(True, "vip")
    return Entitlement(False, "locked")


# The daily ad allowance is part of what a viewer may do; the paywall sheet (service.access)
# and the ad flow (ads.py) both ask it, so it lives below both.
def _start_of_day(now: datetime) -> datetime:
    return datetime.combine(now.astimezone(UTC).date(), day_time(0), tzinfo=UTC)


def ads_left_today(
    *, db: Session, settings: Settings, viewer_id: int, now: datetime | None = None
) -> int:
    """How many more episodes the viewer may unlock with ads today (UTC day)."""
    now = now or utcnow()
    used = db.scalar(
        select(func.count())
        .select_from(AdReward)
        .where(AdReward.account_id == viewer_id, AdReward.created_at >= _start_of_day(now))
    )
    return max(0, settings.ad_unlocks_per_day - (used or 0))
