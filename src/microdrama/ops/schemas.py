"""Answers of the health checks and of the operator's status API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from microdrama.ops.health import Check
from microdrama.ops.snapshot import AIFigures, Failure, QueueFigures, SystemFigures, WorkerSeen


class HealthRead(BaseModel):
    status: Literal["ok"] = "ok"


class CheckRead(BaseModel):
    ok: bool
    detail: str


class ReadinessRead(BaseModel):
    status: Literal["ready", "not_ready"]
    # The names of the checks that failed (database, migrations, storage); empty when ready.
    failed: list[str]
    checks: dict[str, CheckRead]

    @classmethod
    def of(cls, checks: dict[str, Check]) -> ReadinessRead:
        failed = [name for name, check in checks.items() if not check.ok]
        return cls(
            status="not_ready" if failed else "ready",
            failed=failed,
            checks={name: CheckRead(ok=c.ok, detail=c.detail) for name, c in checks.items()},
        )


class BusyWorkerRead(BaseModel):
    worker_id: str
    job_id: int
    lease_expires_at: datetime


class FailureRead(BaseModel):
    job_id: int
    what: str
    reason: str
    attempts: int
    finished_at: datetime | None
    request_id: str | None


class QueueRead(BaseModel):
    queued: int
    running: int
    failed: int
    done: int
    oldest_queued_seconds: float
    # Running jobs whose worker stopped renewing the lease (claimed again after it, or failed).
    abandoned: int
    busy_workers: list[BusyWorkerRead]
    recent_failures: list[FailureRead]

    @classmethod
    def of(cls, queue: QueueFigures) -> QueueRead:
        return cls(
            queued=queue.count("queued"),
            running=queue.count("running"),
            failed=queue.count("failed"),
            done=queue.count("done"),
            oldest_queued_seconds=round(queue.oldest_queued_s, 1),
            abandoned=queue.abandoned,
            busy_workers=[
                BusyWorkerRead(
                    worker_id=w.worker_id, job_id=w.job_id, lease_expires_at=w.lease_expires_at
                )
                for w in queue.busy_workers
            ],
            recent_failures=[_failure(f) for f in queue.recent_failures],
        )


class AIQueueRead(QueueRead):
    cancelled: int

    @classmethod
    def of_ai(cls, queue: AIFigures) -> AIQueueRead:
        base = QueueRead.of(queue)
        return cls(**base.model_dump(), cancelled=queue.count("cancelled"))


class EventsRead(BaseModel):
    unrolled: int
    rollup_lag_seconds: float
    last_received_seconds: float | None


class WorkerRead(BaseModel):
    worker_id: str
    queue: str
    started_at: datetime
    last_seen_at: datetime
    alive: bool
    # The job it holds now (its lease's worker id starts with the worker's), if any.
    job_id: int | None


class StatusRead(BaseModel):
    transcode: QueueRead
    ai: AIQueueRead
    # Every worker that sent a heartbeat in the last day: alive ones, and those gone silent.
    workers: list[WorkerRead]
    events: EventsRead
    readiness: ReadinessRead
    read_at: datetime

    @classmethod
    def of(cls, figures: SystemFigures, checks: dict[str, Check]) -> StatusRead:
        events = figures.events
        return cls(
            transcode=QueueRead.of(figures.transcode),
            ai=AIQueueRead.of_ai(figures.ai),
            workers=[_worker(w, figures) for w in figures.workers],
            events=EventsRead(
                unrolled=events.unrolled,
                rollup_lag_seconds=round(events.oldest_unrolled_s, 1),
                last_received_seconds=(
                    None if events.last_received_s is None else round(events.last_received_s, 1)
                ),
            ),
            readiness=ReadinessRead.of(checks),
            read_at=figures.read_at,
        )


def _worker(worker: WorkerSeen, figures: SystemFigures) -> WorkerRead:
    busy = (
        figures.transcode.busy_workers if worker.queue == "transcode" else figures.ai.busy_workers
    )
    job_id = next(
        (
            b.job_id
            for b in busy
            if b.worker_id == worker.worker_id or b.worker_id.startswith(worker.worker_id + "/")
        ),
        None,
    )
    return WorkerRead(
        worker_id=worker.worker_id,
        queue=worker.queue,
        started_at=worker.started_at,
        last_seen_at=worker.last_seen_at,
        alive=worker.alive,
        job_id=job_id,
    )


def _failure(failure: Failure) -> FailureRead:
    return FailureRead(
        job_id=failure.job_id,
        what=failure.what,
        reason=failure.reason,
        attempts=failure.attempts,
        finished_at=failure.finished_at,
        request_id=failure.request_id,
    )
