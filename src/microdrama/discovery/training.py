"""Training For You: the viewers' histories read from what the app stores (episode views,
watch progress, unlocks, My list), the model fitted, and its answers written back — every
viewer's candidates and every series' neighbours — in one transaction, with a `RecsRun`.

`microdrama recs train` runs it; housekeeping may call `train` too. Readers never see a
half-written set: the old rows are replaced by the new ones in the transaction that commits.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import cast

from sqlalchemy import Engine, and_, case, delete, func, insert, or_, select, text
from sqlalchemy.orm import Session, sessionmaker

from microdrama.analytics.models import EpisodeView
from microdrama.analytics.service import fold_new_events
from microdrama.catalog import service as catalog
from microdrama.catalog.models import Series
from microdrama.db import session_scope, utcnow
from microdrama.discovery.for_you import EARLY_SWIPE_MS
from microdrama.discovery.models import Recommendation, RecsRun, SeriesFollow, SimilarSeries
from microdrama.discovery.recommender import (
    CANDIDATES_PER_VIEWER,
    DEFAULT_ALGORITHM,
    SIMILAR_PER_SERIES,
    Algorithm,
    History,
    Interactions,
    fit,
)
from microdrama.paywall.models import Unlock
from microdrama.playback.models import WatchProgress
from microdrama.rate_limits import RateLimiter, one_at_a_time

# Two trainings at once (housekeeping in several processes) take turns on PostgreSQL.
_TRAINING_LOCK = 0x7EC5_0014
# Housekeeping's training runs in one process at a time; a dead holder's lease lapses after this.
TRAINING_LEASE_SECONDS = 30 * 60
_INSERT_CHUNK = 10_000


@dataclass
class _Signals:
    played: int = 0
    completed: int = 0
    unlocks: int = 0
    followed: bool = False
    all_early_swipes: bool = False


def read_histories(*, db: Session) -> list[History]:
    """Every viewer's history with every series they touched, from the stored rows."""
    signals: dict[tuple[int, int], _Signals] = {}

    def at(account_id: int, series_id: int) -> _Signals:
        return signals.setdefault((account_id, series_id), _Signals())

    early = and_(
        EpisodeView.swiped_away, ~EpisodeView.completed, EpisodeView.furthest_ms < EARLY_SWIPE_MS
    )
    played = or_(EpisodeView.completed, EpisodeView.furthest_ms >= EARLY_SWIPE_MS)
    views = db.execute(
        select(
            EpisodeView.account_id,
            EpisodeView.series_id,
            func.count(func.distinct(case((played, EpisodeView.episode_id)))).label("played"),
            func.count(func.distinct(case((EpisodeView.completed, EpisodeView.episode_id)))).label(
                "completed"
            ),
            func.min(case((early, 1), else_=0)).label("all_early"),
        ).group_by(EpisodeView.account_id, EpisodeView.series_id)
    )
    for row in views:
        s = at(row.account_id, row.series_id)
        s.played, s.completed, s.all_early_swipes = row.played, row.completed, bool(row.all_early)
    # The player saves progress even when its analytics events were lost (and the other way).
    progress = db.execute(
        select(
            WatchProgress.account_id,
            WatchProgress.series_id,
            func.sum(
                case(
                    (or_(WatchProgress.completed, WatchProgress.position_ms >= EARLY_SWIPE_MS), 1),
                    else_=0,
                )
            ).label("played"),
            func.sum(case((WatchProgress.completed, 1), else_=0)).label("completed"),
        ).group_by(WatchProgress.account_id, WatchProgress.series_id)
    )
    for row in progress:
        s = at(row.account_id, row.series_id)
        s.played = max(s.played, int(row.played or 0))
        s.completed = max(s.completed, int(row.completed or 0))
    unlocks = db.execute(
        select(Unlock.account_id, Unlock.series_id, func.count().label("unlocks"))
        .where(Unlock.revoked_at.is_(None))
        .group_by(Unlock.account_id, Unlock.series_id)
    )
    for row in unlocks:
        at(row.account_id, row.series_id).unlocks = row.unlocks
    for account_id, series_id in db.execute(
        select(SeriesFollow.account_id, SeriesFollow.series_id)
    ):
        at(account_id, series_id).followed = True
    return [
        History(
            account_id=account_id,
            series_id=series_id,
            episodes_played=s.played,
            episodes_completed=s.completed,
            unlocks=s.unlocks,
            followed=s.followed,
            skipped=s.all_early_swipes and not (s.played or s.completed),
        )
        for (account_id, series_id), s in signals.items()
    ]


def _insert_all(db: Session, table: type, rows: list[dict[str, object]]) -> None:
    for start in range(0, len(rows), _INSERT_CHUNK):
        db.execute(insert(table), rows[start : start + _INSERT_CHUNK])


def train(
    factory: sessionmaker[Session],
    *,
    algorithm: Algorithm = DEFAULT_ALGORITHM,
    candidates: int = CANDIDATES_PER_VIEWER,
    similar: int = SIMILAR_PER_SERIES,
) -> RecsRun:
    """Retrain For You from the stored events and replace its answers (one transaction)."""
    started = time.perf_counter()
    with factory() as db:
        engine = cast(Engine, db.get_bind())
    fold_new_events(engine)  # SQLite: the views of events not yet folded into the rollup
    with session_scope(factory) as db:
        histories = read_histories(db=db)
        in_feed = set(db.scalars(select(Series.id).where(*catalog.in_feed())))
    interactions = Interactions.from_histories(histories)
    recommendations: list[dict[str, object]] = []
    neighbours: list[dict[str, object]] = []
    if interactions.count:
        model = fit(interactions, algorithm)
        for account_id, top in model.top_candidates(candidates, only_series=in_feed):
            recommendations += [
                {"account_id": account_id, "series_id": s, "rank": rank, "score": score}
                for rank, (s, score) in enumerate(top, start=1)
            ]
        for series_id, others in model.similar_series(similar):
            others = [(o, score) for o, score in others if o in in_feed]
            neighbours += [
                {"series_id": series_id, "other_series_id": o, "rank": rank, "score": score}
                for rank, (o, score) in enumerate(others, start=1)
            ]
    with session_scope(factory) as db:
        if db.get_bind().dialect.name == "postgresql":
            db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _TRAINING_LOCK})
        db.execute(delete(Recommendation))
        db.execute(delete(SimilarSeries))
        _insert_all(db, Recommendation, recommendations)
        _insert_all(db, SimilarSeries, neighbours)
        run = RecsRun(
            algorithm=algorithm.value,
            viewers=len(interactions.account_ids),
            series=len(interactions.series_ids),
            interactions=interactions.count,
            seconds=round(time.perf_counter() - started, 3),
        )
        db.add(run)
    return run


def train_if_due(
    factory: sessionmaker[Session], *, every: timedelta, limiter: RateLimiter | None = None
) -> RecsRun | None:
    """`train` when the last training is older than `every` (or there was none): for a chore
    that runs every few minutes (a training at a million episode views takes seconds). With a
    `limiter`, one process trains while the others' chores skip it (a lease of
    TRAINING_LEASE_SECONDS, should that process die)."""
    if not _training_due(factory, every):
        return None
    if limiter is None:
        return train(factory)
    with one_at_a_time(limiter, "recs-training", lease_seconds=TRAINING_LEASE_SECONDS) as mine:
        # Another process may have trained between the first look and the lease.
        if not mine or not _training_due(factory, every):
            return None
        return train(factory)


def _training_due(factory: sessionmaker[Session], every: timedelta) -> bool:
    with factory() as db:
        trained_at = db.scalar(select(func.max(RecsRun.trained_at)))
    return trained_at is None or utcnow() - trained_at >= every
