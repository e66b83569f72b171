"""Feed experiments: a share of viewers served another feed order than For You, and what the
arms did from the moment they were first served.

A viewer's arm is a pure function of (the experiment's salt, the account id), so every request
and every process agrees without storing it first; the exposure row (one per viewer and
experiment, insert-if-absent, skipped after the first time in a process) says from when the
viewer's events count. Visitors without an account always get the control (For You).

The results compare the arms over the exposed viewers with grouped SQL: per viewer its minutes
and episodes (episode views), unlocks, then per arm the sums the intervals need
(discovery/experiment_stats.py); the continuation rate from each session's episodes in order.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Float, SQLColumnExpression, and_, case, cast, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from microdrama.accounts import service as accounts
from microdrama.analytics.models import EpisodeView
from microdrama.cache import TTLCache
from microdrama.catalog.models import Episode
from microdrama.db import Base, after_commit, dialect_insert, utcnow
from microdrama.discovery import experiment_stats as stats
from microdrama.discovery.experiment_schemas import (
    MAX_SHARE_PERCENT,
    MIN_SHARE_PERCENT,
    ArmResult,
    Difference,
    Estimate,
    ExperimentRead,
    ExperimentResults,
    MetricResult,
)
from microdrama.discovery.models import FeedExperiment, FeedExposure, FeedOrder
from microdrama.errors import Conflict, DomainError
from microdrama.paywall.models import Unlock

CONTROL = FeedOrder.for_you
CACHE_KEY = ("feed-experiment", "running")
# Arms are drawn in basis points: a share of 1-50 % is exact.
BUCKETS = 10_000
# Below this many viewers in an arm the normal approximation is rough: the page says so.
FEW_VIEWERS = 30
EXPERIMENTS_LISTED = 20


EXPOSURES = Base.metadata.tables["feed_exposures"]


class ExperimentRunning(Conflict, code="experiment_running"): ...


class NoExperimentRunning(Conflict, code="no_experiment_running"): ...


class InvalidExperiment(DomainError, code="invalid_experiment", status_code=422): ...


@dataclass(frozen=True)
class RunningExperiment:
    """What the feed needs of the running experiment (kept as bytes in the public cache)."""

    id: int
    salt: str
    share_percent: int
    treatment_order: FeedOrder

    def to_json(self) -> bytes:
        return json.dumps(
            [self.id, self.salt, self.share_percent, self.treatment_order.value]
        ).encode()

    @classmethod
    def from_json(cls, body: bytes) -> RunningExperiment | None:
        data = json.loads(body)
        if data is None:
            return None
        experiment_id, salt, share, order = data
        return cls(int(experiment_id), str(salt), int(share), FeedOrder(order))


# -- assignment ----------------------------------------------------------------------------


def bucket(salt: str, account_id: int) -> int:
    """The viewer's place in 0..BUCKETS-1, uniform and the same in every process."""
    digest = hashlib.sha256(f"{salt}:{account_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def arm_of(experiment: RunningExperiment, account_id: int | None) -> FeedOrder:
    """The viewer's arm: the treatment order for `share_percent` of accounts, else For You."""
    if account_id is None:
        return CONTROL
    in_treatment = bucket(experiment.salt, account_id) < experiment.share_percent * 100
    return experiment.treatment_order if in_treatment else CONTROL


# (salt, account id) already recorded by this process: a viewer's later feed requests write
# nothing. Salts are random, so ids of different databases (tests) never mix.
_recorded: set[tuple[str, int]] = set()
_RECORDED_MAX = 200_000


def record_exposure(
    db: Session, experiment: RunningExperiment, account_id: int, arm: FeedOrder
) -> None:
    """The viewer was served the feed in this arm: remembered once (the first time wins)."""
    key = (experiment.salt, account_id)
    if key in _recorded:
        return
    dialect = db.get_bind().dialect.name
    db.execute(
        dialect_insert(dialect, EXPOSURES).on_conflict_do_nothing(),
        {
            "experiment_id": experiment.id,
            "account_id": account_id,
            "arm": arm.value,
            "first_served_at": utcnow(),
        },
    )
    if len(_recorded) >= _RECORDED_MAX:
        _recorded.clear()
    # Only once stored: a request that rolls back leaves the viewer to be recorded next time.
    after_commit(db, lambda: _recorded.add(key))


def serve_order(
    db: Session, experiment: RunningExperiment | None, account_id: int | None
) -> FeedOrder:
    """The order to serve this viewer's feed in, recording the exposure during an experiment."""
    if experiment is None or account_id is None:
        return CONTROL
    arm = arm_of(experiment, account_id)
    record_exposure(db, experiment, account_id, arm)
    return arm


# -- the running experiment ----------------------------------------------------------------


def running(*, db: Session) -> FeedExperiment | None:
    return db.scalar(select(FeedExperiment).where(FeedExperiment.running.is_(True)))


def _as_running(experiment: FeedExperiment | None) -> RunningExperiment | None:
    if experiment is None:
        return None
    return RunningExperiment(
        experiment.id, experiment.salt, experiment.share_percent, experiment.treatment_order
    )


def running_json(*, db: Session) -> bytes:
    """The running experiment as the public cache keeps it (`null` when none runs)."""
    current = _as_running(running(db=db))
    return current.to_json() if current else b"null"


def cached_running(*, db: Session, cache: TTLCache[bytes]) -> RunningExperiment | None:
    """The running experiment from the public cache (seconds old at most), read here when it
    has none fresh (pages are synchronous; the API uses `TTLCache.get_or_build`)."""
    body = cache.get(CACHE_KEY)
    if body is None:
        body = cache.put(CACHE_KEY, running_json(db=db))
    return RunningExperiment.from_json(body)


# -- starting and stopping -----------------------------------------------------------------


def start(
    *,
    db: Session,
    name: str,
    treatment_order: FeedOrder,
    share_percent: int,
    started_by_id: int | None,
) -> FeedExperiment:
    """Start sending `share_percent` of viewers to `treatment_order`; one at a time."""
    if treatment_order == CONTROL:
        raise InvalidExperiment(
            "The other arm needs another order than For You: popularity or newest.",
            field="treatment_order",
        )
    if not MIN_SHARE_PERCENT <= share_percent <= MAX_SHARE_PERCENT:
        raise InvalidExperiment(
            f"The share must be between {MIN_SHARE_PERCENT} and {MAX_SHARE_PERCENT} %.",
            field="share_percent",
        )
    current = running(db=db)
    if current is not None:
        raise _already_running(current)
    experiment = FeedExperiment(
        name=name,
        treatment_order=treatment_order,
        share_percent=share_percent,
        salt=secrets.token_hex(8),
        started_by_id=started_by_id,
        running=True,
    )
    try:
        with db.begin_nested():
            db.add(experiment)
    except IntegrityError:
        # Another operator started one a moment ago (the unique `running` refused the row).
        other = running(db=db)
        raise _already_running(other) from None
    return experiment


def _already_running(current: FeedExperiment | None) -> ExperimentRunning:
    what = f'"{current.name}"' if current is not None else "Another experiment"
    return ExperimentRunning(
        f"{what} is running: stop it before starting another.",
        experiment_id=current.id if current is not None else None,
    )


def stop(*, db: Session) -> FeedExperiment:
    """Stop the running experiment: every viewer gets For You again; its results stay."""
    current = running(db=db)
    if current is None:
        raise NoExperimentRunning("No experiment is running.")
    current.stopped_at = utcnow()
    current.running = None
    db.flush()
    return current


def get(*, db: Session, experiment_id: int) -> FeedExperiment | None:
    return db.get(FeedExperiment, experiment_id)


def latest(*, db: Session, limit: int = EXPERIMENTS_LISTED) -> list[FeedExperiment]:
    return list(
        db.scalars(select(FeedExperiment).order_by(FeedExperiment.id.desc()).limit(limit)).all()
    )


def read(db: Session, experiment: FeedExperiment) -> ExperimentRead:
    who = (
        accounts.get(db=db, account_id=experiment.started_by_id)
        if experiment.started_by_id is not None
        else None
    )
    return ExperimentRead(
        id=experiment.id,
        name=experiment.name,
        treatment_order=experiment.treatment_order,
        share_percent=experiment.share_percent,
        started_at=experiment.started_at,
        stopped_at=experiment.stopped_at,
        running=bool(experiment.running),
        started_by=(who.email or who.display_name or "") if who is not None else "",
    )


# -- results -------------------------------------------------------------------------------


def _during(experiment: FeedExperiment, at: SQLColumnExpression[Any]) -> ColumnElement[bool]:
    """From the viewer's first serving until the experiment stopped."""
    since = at >= FeedExposure.first_served_at
    if experiment.stopped_at is None:
        return since
    return and_(since, at < experiment.stopped_at)


def _in_experiment(experiment: FeedExperiment) -> ColumnElement[bool]:
    """The experiment's viewers: those served while it ran (a process that had not yet seen
    the stop may have served one more; that viewer had no time to count)."""
    served = FeedExposure.experiment_id == experiment.id
    if experiment.stopped_at is None:
        return served
    return and_(served, FeedExposure.first_served_at < experiment.stopped_at)


def _exposed(
    experiment: FeedExperiment, account_id: SQLColumnExpression[int]
) -> ColumnElement[bool]:
    return and_(_in_experiment(experiment), FeedExposure.account_id == account_id)


@dataclass(frozen=True)
class _ArmFigures:
    minutes: stats.Sums
    episodes: stats.Sums
    unlocks: stats.Sums
    continuation: stats.RatioSums  # y: continued, x: completions


def _arm_figures(db: Session, experiment: FeedExperiment) -> dict[FeedOrder, _ArmFigures]:
    """Per arm: the sums of each viewer's minutes, episodes and unlocks (viewers who did
    nothing count as zeros), and completions with how many were followed by the next
    episode in the same session. One pass over the viewers' episode views: each session's
    episodes in order (for the next one's number), folded per viewer, then per arm."""
    v = EpisodeView
    in_session = (
        select(
            v.account_id,
            v.episode_id,
            v.furthest_ms,
            v.completed,
            Episode.number,
            func.lead(Episode.number)
            .over(partition_by=(v.account_id, v.session_id, v.series_id), order_by=Episode.number)
            .label("next_number"),
        )
        .join(Episode, Episode.id == v.episode_id)
        .join(FeedExposure, _exposed(experiment, v.account_id))
        .where(v.played.is_(True), _during(experiment, v.started_at))
        .subquery()
    )
    done = in_session.c.completed.is_(True)
    went_on = and_(done, in_session.c.next_number == in_session.c.number + 1)
    views = (
        select(
            in_session.c.account_id,
            cast(func.sum(in_session.c.furthest_ms), Float).label("watch_ms"),
            func.count(func.distinct(in_session.c.episode_id)).label("episodes"),
            func.sum(case((done, 1), else_=0)).label("completions"),
            func.sum(case((went_on, 1), else_=0)).label("continued"),
        )
        .group_by(in_session.c.account_id)
        .subquery()
    )
    unlocks = (
        select(Unlock.account_id, func.count().label("unlocks"))
        .join(FeedExposure, _exposed(experiment, Unlock.account_id))
        .where(Unlock.revoked_at.is_(None), _during(experiment, Unlock.created_at))
        .group_by(Unlock.account_id)
        .subquery()
    )
    minutes = func.coalesce(views.c.watch_ms, 0.0) / 60_000.0
    episodes = func.coalesce(views.c.episodes, 0)
    unlocked = func.coalesce(unlocks.c.unlocks, 0)
    completions = func.coalesce(views.c.completions, 0)
    continued = func.coalesce(views.c.continued, 0)
    rows = db.execute(
        select(
            FeedExposure.arm,
            func.count().label("viewers"),
            func.sum(minutes),
            func.sum(minutes * minutes),
            func.sum(episodes),
            func.sum(episodes * episodes),
            func.sum(unlocked),
            func.sum(unlocked * unlocked),
            func.sum(completions),
            func.sum(continued),
            func.sum(continued * continued),
            func.sum(completions * completions),
            func.sum(continued * completions),
        )
        .outerjoin(views, views.c.account_id == FeedExposure.account_id)
        .outerjoin(unlocks, unlocks.c.account_id == FeedExposure.account_id)
        .where(_in_experiment(experiment))
        .group_by(FeedExposure.arm)
    ).all()
    return {
        FeedOrder(arm): _ArmFigures(
            minutes=stats.Sums(int(n), float(m or 0), float(m2 or 0)),
            episodes=stats.Sums(int(n), float(e or 0), float(e2 or 0)),
            unlocks=stats.Sums(int(n), float(u or 0), float(u2 or 0)),
            continuation=stats.RatioSums(
                int(n), float(k or 0), float(c or 0), float(k2 or 0), float(c2 or 0), float(kc or 0)
            ),
        )
        for arm, n, m, m2, e, e2, u, u2, c, k, k2, c2, kc in rows
    }


def _estimate(interval: stats.Interval) -> Estimate:
    return Estimate(value=interval.value, low=interval.low, high=interval.high)


SUMMARIES = {
    stats.Verdict.treatment_higher: "Higher with {order}",
    stats.Verdict.treatment_lower: "Lower with {order}",
    stats.Verdict.no_clear_difference: "No clear difference yet",
    stats.Verdict.not_enough_data: "Not enough data yet",
}
ORDER_NAMES = {
    FeedOrder.for_you: "For You",
    FeedOrder.popularity: "popularity",
    FeedOrder.newest: "newest first",
}


def _difference(interval: stats.Interval, treatment: FeedOrder) -> Difference:
    verdict = stats.verdict(interval)
    return Difference(
        value=interval.value,
        low=interval.low,
        high=interval.high,
        verdict=verdict,
        summary=SUMMARIES[verdict].format(order=ORDER_NAMES[treatment]),
    )


def results(*, db: Session, experiment: FeedExperiment) -> ExperimentResults:
    """Each arm's viewers and, per metric, both arms' values and the treatment's difference
    from control, with 95 % intervals."""
    treatment_order = experiment.treatment_order
    figures = _arm_figures(db, experiment)
    nothing = stats.Sums(0, 0, 0)
    empty = _ArmFigures(nothing, nothing, nothing, stats.RatioSums(0, 0, 0, 0, 0, 0))
    control, treatment = figures.get(CONTROL, empty), figures.get(treatment_order, empty)
    metrics = [
        MetricResult(
            metric=metric,
            label=label,
            kind="mean",
            control=_estimate(stats.mean_interval(getattr(control, field))),
            treatment=_estimate(stats.mean_interval(getattr(treatment, field))),
            difference=_difference(
                stats.welch_difference(getattr(treatment, field), getattr(control, field)),
                treatment_order,
            ),
        )
        for metric, label, field in (
            ("minutes_per_viewer", "Minutes watched per viewer", "minutes"),
            ("episodes_per_viewer", "Episodes started per viewer", "episodes"),
            ("unlocks_per_viewer", "Unlocks per viewer", "unlocks"),
        )
    ]
    metrics.insert(
        2,
        MetricResult(
            metric="continuation",
            label="Continuation (completions followed by the next episode)",
            kind="proportion",
            control=_estimate(stats.ratio_interval(control.continuation)),
            treatment=_estimate(stats.ratio_interval(treatment.continuation)),
            difference=_difference(
                stats.ratio_difference(treatment.continuation, control.continuation),
                treatment_order,
            ),
            control_trials=int(control.continuation.x),
            treatment_trials=int(treatment.continuation.x),
        ),
    )
    arms = [
        ArmResult(arm=CONTROL, role="control", viewers=control.minutes.n),
        ArmResult(arm=treatment_order, role="treatment", viewers=treatment.minutes.n),
    ]
    return ExperimentResults(
        experiment=read(db, experiment),
        arms=arms,
        metrics=metrics,
        computed_at=utcnow(),
        note=_note(min(control.minutes.n, treatment.minutes.n)),
    )


def _note(fewest_viewers: int) -> str:
    caveat = (
        "Intervals are 95 %: means by the normal approximation (Welch for the difference), "
        "continuation as a share of all completions, its interval by viewer (the delta method: "
        "one viewer's completions go together); a viewer counts from the "
        "first feed served in the experiment until it stopped."
    )
    if fewest_viewers < FEW_VIEWERS:
        return f"Fewer than {FEW_VIEWERS} viewers in an arm: the intervals are rough. " + caveat
    return caveat
