"""Periodic chores: expire bonus coins, renew VIP passes, share last month's VIP pool with
creators, put back the stock of shop orders left unpaid, forget old idempotency keys, expired
sessions, old sign-in attempts, abandoned uploads, videos no episode uses any more and stored
files no asset owns, fold playback events into the analytics rollup (SQLite), make the coming
days' partitions of the playback events and drop the rolled-up days past retention
(PostgreSQL), refresh today's
rankings when they are an hour old (and forget charts of long ago), and retrain For You when
its model is a day old.

`microdrama housekeeping` runs them once (cron, a Kubernetes CronJob...); the embedded server
runs them every few minutes in a thread so the one-command setup needs no cron. Each chore is
its own money transaction, safe to run from several processes at once.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts import service as accounts
from microdrama.analytics import partitions as event_partitions
from microdrama.analytics.service import fold_new_events
from microdrama.catalog import videos as episode_videos
from microdrama.config import Settings
from microdrama.db import run_money_transaction, session_scope, utcnow
from microdrama.discovery import rankings
from microdrama.idempotency import purge_expired
from microdrama.media import service as media
from microdrama.object_storage import open_storage
from microdrama.payments.renewals import renew_due_vip_passes
from microdrama.payouts import vip_share
from microdrama.rate_limits import RateLimiter, forget_old_hits, open_rate_limiter
from microdrama.shop.orders import service as orders
from microdrama.studio.uploads import purge_stale_uploads
from microdrama.wallet import viewer_coins

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Chores:
    bonus_coins_expired: int
    vip_renewals: int
    idempotency_keys_forgotten: int
    stale_uploads_deleted: int = 0
    unused_videos_deleted: int = 0
    orphan_files_swept: int = 0  # assets' files in storage with no asset left (media/service.py)
    shop_reservations_released: int = 0
    sessions_ended: int = 0
    login_attempts_forgotten: int = 0
    rate_limit_hits_forgotten: int = 0  # the database's hits older than any window
    events_folded: int = 0
    event_partitions_made: int = 0  # PostgreSQL: days of playback events given a partition
    event_days_dropped: int = 0  # PostgreSQL: days past retention, rolled up, dropped
    rankings_refreshed: bool = False  # today's charts were an hour old (or missing)
    ranking_entries_forgotten: int = 0  # rows of charts older than rankings_keep_days
    recs_trained: bool = False  # For You's last training was recs_retrain_hours old (or none)
    vip_share_month: str = ""  # the month whose VIP pool this round settled (or found settled)
    vip_share_posted: int = 0  # series credited with their share by this round


def run_once(*, factory: sessionmaker[Session], settings: Settings) -> Chores:
    """Run every chore once."""
    expired = run_money_transaction(factory, lambda db: viewer_coins.expire_bonus(db=db))
    renewals = run_money_transaction(
        factory, lambda db: renew_due_vip_passes(db=db, settings=settings, now=utcnow())
    )
    forgotten = run_money_transaction(
        factory, lambda db: purge_expired(db=db, keep_hours=settings.idempotency_keep_hours)
    )
    released = run_money_transaction(
        factory, lambda db: orders.release_expired(db=db, now=utcnow())
    )
    with session_scope(factory) as db:
        uploads = purge_stale_uploads(db=db, settings=settings)
    storage = open_storage(settings)
    with session_scope(factory) as db:
        videos = episode_videos.purge_unused_assets(db=db, storage=storage)
    with session_scope(factory) as db:
        orphans = media.sweep_orphan_files(db=db, storage=storage)
    pruned = run_money_transaction(factory, lambda db: accounts.prune(db=db, settings=settings))
    with session_scope(factory) as db:
        hits_forgotten = forget_old_hits(db=db)
    # SQLite: events a stopped server stored but had not yet folded into the rollup.
    with factory() as db:
        engine = db.get_bind()
    events_folded = fold_new_events(engine)  # type: ignore[arg-type]
    partitions = event_partitions.maintain(
        engine,  # type: ignore[arg-type]
        days_ahead=settings.events_partition_days_ahead,
        retention_days=settings.events_retention_days,
    )
    # The rebuilds run in one process at a time (a lease); the others skip them.
    limiter = open_rate_limiter(settings, factory)
    refreshed = rankings.refresh_if_due(factory, limiter=limiter)
    with session_scope(factory) as db:
        keep_from = utcnow().date() - timedelta(days=settings.rankings_keep_days)
        forgotten_entries = rankings.forget_before(db, day=keep_from)
    trained = _retrain_for_you_if_due(factory, settings, limiter)
    # Last, so the other chores run even if this one fails. A month found settled is remembered
    # by the process, so the rounds after it cost nothing.
    settlement = vip_share.settle_due_month(factory=factory, settings=settings, now=utcnow())
    return Chores(
        bonus_coins_expired=expired,
        vip_renewals=len(renewals),
        idempotency_keys_forgotten=forgotten,
        stale_uploads_deleted=uploads,
        unused_videos_deleted=videos,
        orphan_files_swept=orphans,
        shop_reservations_released=released,
        sessions_ended=pruned.sessions,
        login_attempts_forgotten=pruned.login_attempts,
        rate_limit_hits_forgotten=hits_forgotten,
        events_folded=events_folded,
        event_partitions_made=len(partitions.created),
        event_days_dropped=len(partitions.dropped),
        rankings_refreshed=refreshed is not None,
        ranking_entries_forgotten=forgotten_entries,
        recs_trained=trained,
        vip_share_month=str(settlement.month) if settlement else "",
        vip_share_posted=settlement.posted if settlement else 0,
    )


def _retrain_for_you_if_due(
    factory: sessionmaker[Session], settings: Settings, limiter: RateLimiter
) -> bool:
    # Imported by the first round rather than with the app, so the server answers before
    # numpy, scipy and implicit are loaded (as `microdrama recs train` imports them).
    from microdrama.discovery import training

    every = timedelta(hours=settings.recs_retrain_hours)
    return training.train_if_due(factory, every=every, limiter=limiter) is not None


class HousekeepingThread:
    """Runs the chores every `interval_seconds` until stopped (the embedded default)."""

    def __init__(
        self, *, factory: sessionmaker[Session], settings: Settings, interval_seconds: float = 300
    ) -> None:
        self.factory = factory
        self.settings = settings
        self.interval_seconds = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="housekeeping", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            try:
                run_once(factory=self.factory, settings=self.settings)
            except Exception:  # a failed round must not end the thread; the next one retries
                log.exception("housekeeping round failed")
