"""What the system is doing, read from the database: the transcode and AI queues, the workers
holding jobs, recent failures, unlocks, purchases and orders, and how far behind the events'
rollup is. One read for /metrics and the operator's status page.

An operator's read across domains: aggregate counts over the domains' own tables, read-only,
so no domain has to carry a service function only for this page.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from microdrama.ai.models import AIJob, AIJobState
from microdrama.analytics.models import PlaybackEvent, RollupMark
from microdrama.analytics.service import VIEWS_MARK
from microdrama.db import utcnow
from microdrama.media.models import JobState, TranscodeJob
from microdrama.ops.heartbeat import ALIVE_WITHIN
from microdrama.ops.models import WorkerHeartbeat
from microdrama.payments.models import Purchase
from microdrama.paywall.models import Unlock
from microdrama.shop.models import Order

# Transcode job durations (seconds): a few-second test clip to a long episode's ladder.
DURATION_BUCKETS_S = (1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
RECENT_FAILURES = 10


@dataclass(frozen=True)
class DurationHistogram:
    buckets: tuple[int, ...]  # cumulative counts, one per DURATION_BUCKETS_S bound
    count: int
    sum_s: float


@dataclass(frozen=True)
class BusyWorker:
    worker_id: str
    job_id: int
    lease_expires_at: datetime


@dataclass(frozen=True)
class Failure:
    job_id: int
    what: str  # the asset, or the AI job's kind
    reason: str
    attempts: int
    finished_at: datetime | None
    request_id: str | None


@dataclass(frozen=True)
class QueueFigures:
    by_state: dict[str, int]
    oldest_queued_s: float
    busy_workers: list[BusyWorker]
    # Running, but its worker stopped renewing the lease: it will be claimed again (or fail).
    abandoned: int
    recent_failures: list[Failure]
    durations: dict[str, DurationHistogram] = field(default_factory=dict)

    def count(self, state: str) -> int:
        return self.by_state.get(state, 0)


@dataclass(frozen=True)
class AIFigures(QueueFigures):
    by_kind_state: dict[tuple[str, str], int] = field(default_factory=dict)


@dataclass(frozen=True)
class BusinessFigures:
    unlocks_by_method: dict[str, int]
    purchases_by_kind: dict[str, tuple[int, int]]  # kind -> (started, paid)
    orders: int
    orders_paid: int


@dataclass(frozen=True)
class EventFigures:
    unrolled: int
    oldest_unrolled_s: float
    last_received_s: float | None


@dataclass(frozen=True)
class WorkerSeen:
    worker_id: str
    queue: str
    started_at: datetime
    last_seen_at: datetime
    alive: bool  # heard from within ALIVE_WITHIN


@dataclass(frozen=True)
class SystemFigures:
    transcode: QueueFigures
    ai: AIFigures
    business: BusinessFigures
    events: EventFigures
    workers: list[WorkerSeen]
    read_at: datetime

    def alive(self, queue: str) -> int:
        return sum(1 for w in self.workers if w.queue == queue and w.alive)


def _age_s(then: datetime | None, now: datetime) -> float:
    return max(0.0, (now - then).total_seconds()) if then is not None else 0.0


def _seconds_between(db: Session, start: Any, end: Any) -> ColumnElement[float]:
    """end - start in seconds, in SQL (each database has its own way)."""
    if db.get_bind().dialect.name == "postgresql":
        return cast(ColumnElement[float], func.extract("epoch", end - start))
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def _durations(db: Session) -> dict[str, DurationHistogram]:
    seconds = _seconds_between(db, TranscodeJob.started_at, TranscodeJob.finished_at)
    columns = [func.sum(case((seconds <= bound, 1), else_=0)) for bound in DURATION_BUCKETS_S]
    rows = db.execute(
        select(TranscodeJob.state, func.count(), func.coalesce(func.sum(seconds), 0.0), *columns)
        .where(
            TranscodeJob.state.in_([JobState.done, JobState.failed]),
            TranscodeJob.started_at.is_not(None),
            TranscodeJob.finished_at.is_not(None),
        )
        .group_by(TranscodeJob.state)
    ).all()
    return {
        JobState(row[0]).value: DurationHistogram(
            buckets=tuple(int(c or 0) for c in row[3:]), count=int(row[1]), sum_s=float(row[2])
        )
        for row in rows
    }


def _transcode(db: Session, now: datetime) -> QueueFigures:
    by_state = {
        JobState(state).value: int(count)
        for state, count in db.execute(
            select(TranscodeJob.state, func.count()).group_by(TranscodeJob.state)
        )
    }
    oldest = db.scalar(
        select(func.min(TranscodeJob.created_at)).where(TranscodeJob.state == JobState.queued)
    )
    running = db.execute(
        select(TranscodeJob.worker_id, TranscodeJob.id, TranscodeJob.lease_expires_at)
        .where(TranscodeJob.state == JobState.running)
        .order_by(TranscodeJob.id)
    ).all()
    failures = db.execute(
        select(
            TranscodeJob.id,
            TranscodeJob.asset_id,
            TranscodeJob.error,
            TranscodeJob.attempts,
            TranscodeJob.finished_at,
            TranscodeJob.request_id,
        )
        .where(TranscodeJob.state == JobState.failed)
        .order_by(TranscodeJob.id.desc())
        .limit(RECENT_FAILURES)
    ).all()
    return QueueFigures(
        by_state=by_state,
        oldest_queued_s=_age_s(oldest, now),
        busy_workers=_busy(running, now),
        abandoned=sum(1 for _w, _id, lease in running if lease is None or lease <= now),
        recent_failures=[
            Failure(
                job_id=job_id,
                what=f"asset {asset_id}",
                reason=error or "no reason recorded",
                attempts=attempts,
                finished_at=finished_at,
                request_id=request_id,
            )
            for job_id, asset_id, error, attempts, finished_at, request_id in failures
        ],
        durations=_durations(db),
    )


def _busy(
    running: Sequence[tuple[str | None, int, datetime | None]], now: datetime
) -> list[BusyWorker]:
    return [
        BusyWorker(worker_id=worker or "?", job_id=job_id, lease_expires_at=lease)
        for worker, job_id, lease in running
        if lease is not None and lease > now
    ]


def _ai(db: Session, now: datetime) -> AIFigures:
    by_kind_state: dict[tuple[str, str], int] = {}
    by_state: dict[str, int] = {}
    for kind, state, count in db.execute(
        select(AIJob.kind, AIJob.state, func.count()).group_by(AIJob.kind, AIJob.state)
    ):
        key = (str(getattr(kind, "value", kind)), str(getattr(state, "value", state)))
        by_kind_state[key] = int(count)
        by_state[key[1]] = by_state.get(key[1], 0) + int(count)
    oldest = db.scalar(select(func.min(AIJob.created_at)).where(AIJob.state == AIJobState.queued))
    running = db.execute(
        select(AIJob.worker_id, AIJob.id, AIJob.lease_expires_at)
        .where(AIJob.state == AIJobState.running)
        .order_by(AIJob.id)
    ).all()
    failures = db.execute(
        select(
            AIJob.id, AIJob.kind, AIJob.error, AIJob.attempts, AIJob.finished_at, AIJob.request_id
        )
        .where(AIJob.state == AIJobState.failed)
        .order_by(AIJob.id.desc())
        .limit(RECENT_FAILURES)
    ).all()
    return AIFigures(
        by_state=by_state,
        by_kind_state=by_kind_state,
        oldest_queued_s=_age_s(oldest, now),
        busy_workers=_busy(running, now),
        abandoned=sum(1 for _w, _id, lease in running if lease is None or lease <= now),
        recent_failures=[
            Failure(
                job_id=job_id,
                what=str(getattr(kind, "value", kind)).replace("_", " "),
                reason=error or "no reason recorded",
                attempts=attempts,
                finished_at=finished_at,
                request_id=request_id,
            )
            for job_id, kind, error, attempts, finished_at, request_id in failures
        ],
    )


def _business(db: Session) -> BusinessFigures:
    unlocks = {
        str(getattr(method, "value", method)): int(count)
        for method, count in db.execute(select(Unlock.method, func.count()).group_by(Unlock.method))
    }
    purchases = {
        str(getattr(kind, "value", kind)): (int(started), int(paid))
        for kind, started, paid in db.execute(
            select(Purchase.kind, func.count(), func.count(Purchase.paid_at)).group_by(
                Purchase.kind
            )
        )
    }
    orders, orders_paid = db.execute(select(func.count(), func.count(Order.paid_at))).one()
    return BusinessFigures(
        unlocks_by_method=unlocks,
        purchases_by_kind=purchases,
        orders=int(orders),
        orders_paid=int(orders_paid),
    )


def _events(db: Session, now: datetime) -> EventFigures:
    newest_id = db.scalar(select(func.max(PlaybackEvent.id)))
    if newest_id is None:
        return EventFigures(unrolled=0, oldest_unrolled_s=0.0, last_received_s=None)
    last_received = db.scalar(
        select(PlaybackEvent.received_at).where(PlaybackEvent.id == newest_id)
    )
    unrolled, oldest = 0, None
    # PostgreSQL folds events into the rollup in the statement that stores them; SQLite folds
    # them a moment later, and its mark says how far it got.
    if db.get_bind().dialect.name == "sqlite":
        mark = db.scalar(select(RollupMark.last_event_id).where(RollupMark.name == VIEWS_MARK))
        behind = PlaybackEvent.id > (mark or 0)
        unrolled = int(db.scalar(select(func.count()).where(behind)) or 0)
        oldest = db.scalar(select(func.min(PlaybackEvent.received_at)).where(behind))
    return EventFigures(
        unrolled=unrolled,
        oldest_unrolled_s=_age_s(oldest, now),
        last_received_s=_age_s(last_received, now),
    )


def _workers(db: Session, now: datetime) -> list[WorkerSeen]:
    rows = db.execute(
        select(
            WorkerHeartbeat.worker_id,
            WorkerHeartbeat.queue,
            WorkerHeartbeat.started_at,
            WorkerHeartbeat.last_seen_at,
        ).order_by(WorkerHeartbeat.queue, WorkerHeartbeat.worker_id)
    ).all()
    return [
        WorkerSeen(
            worker_id=worker_id,
            queue=queue,
            started_at=started_at,
            last_seen_at=last_seen_at,
            alive=now - last_seen_at <= ALIVE_WITHIN,
        )
        for worker_id, queue, started_at, last_seen_at in rows
    ]


def read_figures(db: Session) -> SystemFigures:
    """Everything /metrics and the status page show from the database, read now."""
    now = utcnow()
    return SystemFigures(
        transcode=_transcode(db, now),
        ai=_ai(db, now),
        business=_business(db),
        events=_events(db, now),
        workers=_workers(db, now),
        read_at=now,
    )


class FiguresCache:
    """The last read, kept `ttl_s` per process: several scrapers (or a reloaded status page)
    cost one read."""

    def __init__(self, ttl_s: float = 5.0) -> None:
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._figures: SystemFigures | None = None
        self._read_at = -1e9

    def get(self, db: Session) -> SystemFigures:
        with self._lock:
            if self._figures is None or time.monotonic() - self._read_at > self.ttl_s:
                self._figures = read_figures(db)
                self._read_at = time.monotonic()
            return self._figures
