"""AI jobs: a queue like the transcode jobs', whose every job runs in a child process.

A route calls `enqueue` (rate-limited per creator); the AI worker (`microdrama ai-worker`, one
started by `microdrama serve`) claims the oldest job with a lease exactly as transcode workers
do (one atomic UPDATE, FOR UPDATE SKIP LOCKED on PostgreSQL), then runs it in a child process
(`python -m microdrama.ai.runner`): a model never loads in the web process, its memory goes back
to the system when the job ends, and cancelling kills the child. While the child runs, the
worker renews the lease and watches `cancel_requested`; a worker that dies stops renewing, so
another one claims the job again after the lease, and after settings.job_max_attempts claims
the job fails with a reason.

A handler is `run_job(ctx: JobContext) -> dict` (HANDLERS, resolved lazily): it reports with
`ctx.progress(fraction, message)`, which raises JobCancelled once the creator cancelled, and
writes what it makes in one transaction at its end, so a cancelled job leaves nothing half
written. What it returns is stored as the job's result.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.errors import TooManyAttempts
from microdrama.accounts.models import Account
from microdrama.ai.models import ACTIVE_STATES, AIJob, AIJobKind, AIJobState
from microdrama.config import Settings
from microdrama.db import session_scope, utcnow
from microdrama.errors import Conflict, DomainError, NotFound
from microdrama.logs import bound_request_id
from microdrama.media.jobs import Claim, default_worker_id
from microdrama.media.transcode import die_with_parent
from microdrama.storage import Storage

__all__ = [
    "HANDLERS",
    "AIJob",
    "AIJobKind",
    "AIJobState",
    "AIJobsLimited",
    "AIWorker",
    "JobCancelled",
    "JobContext",
    "JobFailed",
    "cancel",
    "enqueue",
    "run_job_here",
]

log = logging.getLogger(__name__)

# Each kind's handler, "module:function", imported only in the process that runs the job.
HANDLERS: dict[AIJobKind, str] = {
    AIJobKind.writers_room: "microdrama.ai.writers_room:run_job",
    AIJobKind.table_read: "microdrama.ai.table_read:run_job",
    AIJobKind.captions: "microdrama.ai.captions:run_job",
    AIJobKind.translation: "microdrama.ai.translate:run_job",
}
Handler = Callable[["JobContext"], dict[str, Any]]

# Progress is written at most this often (a bar needs no more); the worker looks at the job
# (lease, cancel) as often.
PROGRESS_WRITE_INTERVAL_S = 0.5
# After SIGTERM, how long a job's process may take to stop before it is killed.
KILL_GRACE_S = 3.0
RATE_WINDOW = timedelta(hours=1)
# What a creator reads when a job failed for a reason that is not theirs to fix.
UNEXPECTED = "Something went wrong while running this job; try again."
CRASHED = "The AI job's process stopped unexpectedly (it may have run out of memory); try again."
CANCELLED = "Cancelled."


class AIJobsLimited(TooManyAttempts, code="ai_jobs_limited"):
    """Too many AI jobs for now (at once or in the last hour); Retry-After says when."""


class JobCancelled(Exception):
    """Raised in a handler by `ctx.progress` once the creator asked to cancel."""


class JobLost(JobCancelled):
    """The job is no longer this attempt's (its lease ran out and another worker took it)."""


class JobInterrupted(BaseException):
    """The job's process was told to stop (SIGTERM from the worker): stop, write nothing."""


class JobFailed(Exception):
    """A handler gives up: `public_message` is what the creator reads."""

    def __init__(self, public_message: str) -> None:
        super().__init__(public_message)
        self.public_message = public_message


# ---------------------------------------------------------------------------------------------
# Enqueue, read, cancel (the web process)


def enqueue(
    db: Session,
    *,
    settings: Settings,
    kind: AIJobKind | str,
    owner_id: int,
    payload: dict[str, Any],
    subject: str,
) -> AIJob:
    """Queue a job for the AI worker; AIJobsLimited (429) when the creator has
    settings.ai_jobs_at_once jobs queued or running, or started settings.ai_jobs_per_hour in the
    last hour. The caller's transaction commits it."""
    kind = AIJobKind(kind)
    # One creator's enqueues one at a time on PostgreSQL (SQLite has a single writer).
    db.execute(select(Account.id).where(Account.id == owner_id).with_for_update())
    now = utcnow()
    active = db.scalar(
        select(func.count())
        .select_from(AIJob)
        .where(AIJob.owner_id == owner_id, AIJob.state.in_(ACTIVE_STATES))
    )
    if (active or 0) >= settings.ai_jobs_at_once:
        raise AIJobsLimited(
            f"You already have {active} AI job{'s' if active != 1 else ''} in progress. "
            "Wait for one to finish or cancel it, then try again.",
            retry_after_seconds=10,
        )
    recent = db.scalars(
        select(AIJob.created_at)
        .where(AIJob.owner_id == owner_id, AIJob.created_at > now - RATE_WINDOW)
        .order_by(AIJob.created_at.desc())
        .limit(settings.ai_jobs_per_hour)
    ).all()
    if len(recent) >= settings.ai_jobs_per_hour:
        # Open again when the oldest of the last `limit` jobs leaves the window.
        seconds = max(1, math.ceil((recent[-1] + RATE_WINDOW - now).total_seconds()))
        minutes = math.ceil(seconds / 60)
        raise AIJobsLimited(
            f"You have started {settings.ai_jobs_per_hour} AI jobs in the last hour, the most "
            f"allowed. Try again in {minutes} minute{'s' if minutes != 1 else ''}.",
            retry_after_seconds=seconds,
        )
    job = AIJob(
        kind=kind,
        owner_id=owner_id,
        subject=subject,
        payload=payload,
        state=AIJobState.queued,
        message="Waiting for the AI worker…",
    )
    db.add(job)
    db.flush()
    return job


def get_owned(db: Session, *, job_id: int, owner_id: int) -> AIJob:
    """The creator's own job; NotFound for anyone else's, as for one that does not exist."""
    job = db.get(AIJob, job_id, populate_existing=True)
    if job is None or job.owner_id != owner_id:
        raise NotFound("There is no such AI job.")
    return job


def latest_for(db: Session, *, owner_id: int, subject: str, limit: int = 10) -> list[AIJob]:
    """The creator's newest jobs on a subject ("episode:12"), newest first."""
    return list(
        db.scalars(
            select(AIJob)
            .where(AIJob.owner_id == owner_id, AIJob.subject == subject)
            .order_by(AIJob.id.desc())
            .limit(limit)
        )
    )


def cancel(db: Session, *, job_id: int, owner_id: int) -> AIJob:
    """Cancel the creator's job: a queued one at once, a running one by asking its worker, which
    kills the job's process. Cancelling a cancelled job is a no-op; a finished one, a Conflict."""
    job = get_owned(db, job_id=job_id, owner_id=owner_id)
    now = utcnow()
    if job.state == AIJobState.queued:
        db.execute(
            update(AIJob)
            .where(AIJob.id == job.id, AIJob.state == AIJobState.queued)
            .values(state=AIJobState.cancelled, message=CANCELLED, finished_at=now)
        )
    elif job.state == AIJobState.running:
        db.execute(
            update(AIJob)
            .where(AIJob.id == job.id, AIJob.state == AIJobState.running)
            .values(cancel_requested=True, message="Cancelling…")
        )
    elif job.state != AIJobState.cancelled:
        raise Conflict(f"This job has already {'finished' if job.state == 'done' else 'failed'}.")
    db.flush()
    db.refresh(job)
    return job


# ---------------------------------------------------------------------------------------------
# Claims and leases (the worker), as in media/jobs.py


def _claimable(now: datetime, settings: Settings) -> ColumnElement[bool]:
    """Queued, or abandoned by a dead worker with attempts left and no cancel asked for."""
    return or_(
        AIJob.state == AIJobState.queued,
        (AIJob.state == AIJobState.running)
        & (AIJob.lease_expires_at < now)
        & AIJob.cancel_requested.is_(False)
        & (AIJob.attempts < settings.job_max_attempts),
    )


def _owned(claim: Claim) -> ColumnElement[bool]:
    return (
        (AIJob.id == claim.job_id)
        & (AIJob.state == AIJobState.running)
        & (AIJob.worker_id == claim.worker_id)
        & (AIJob.attempts == claim.attempts)
    )


def settle_abandoned_jobs(*, db: Session, settings: Settings) -> list[int]:
    """Jobs whose worker died: cancelled if the creator had asked, failed after
    settings.job_max_attempts claims. Returns their ids."""
    now = utcnow()
    abandoned = (AIJob.state == AIJobState.running, AIJob.lease_expires_at < now)
    # Read first: an idle worker polls often, and a write each time would contend on SQLite.
    if db.scalar(select(AIJob.id).where(*abandoned).limit(1)) is None:
        return []
    cancelled = db.scalars(
        update(AIJob)
        .where(*abandoned, AIJob.cancel_requested.is_(True))
        .values(
            state=AIJobState.cancelled, message=CANCELLED, lease_expires_at=None, finished_at=now
        )
        .returning(AIJob.id)
    ).all()
    failed = db.scalars(
        update(AIJob)
        .where(*abandoned, AIJob.attempts >= settings.job_max_attempts)
        .values(
            state=AIJobState.failed,
            error=(
                f"The AI worker stopped responding on each of {settings.job_max_attempts} "
                "attempts (it may have run out of memory); try again later."
            ),
            message="Failed.",
            lease_expires_at=None,
            finished_at=now,
        )
        .returning(AIJob.id)
    ).all()
    for job_id in failed:
        log.warning("AI job %s failed: its worker died on every attempt", job_id)
    return [*cancelled, *failed]


def claim_next_job(
    *, db: Session, settings: Settings, worker_id: str, job_id: int | None = None
) -> Claim | None:
    """Atomically take the oldest claimable job (or the given one) for this worker."""
    now = utcnow()
    candidate = select(AIJob.id).where(_claimable(now, settings))
    if job_id is not None:
        candidate = candidate.where(AIJob.id == job_id)
    # Read first (see settle_abandoned_jobs); the UPDATE below is what makes the claim safe.
    if db.scalar(candidate.limit(1)) is None:
        return None
    # SKIP LOCKED lets PostgreSQL workers pass over rows another claim is taking right now;
    # on SQLite the clause is not rendered and the single writer serialises the UPDATE.
    candidate = candidate.order_by(AIJob.id).limit(1).with_for_update(skip_locked=True)
    row = db.execute(
        update(AIJob)
        .where(AIJob.id == candidate.scalar_subquery())
        .values(
            state=AIJobState.running,
            worker_id=worker_id,
            attempts=AIJob.attempts + 1,
            lease_expires_at=now + timedelta(seconds=settings.job_lease_seconds),
            started_at=now,
            progress=0.0,
            message="Starting…",
            error=None,
        )
        .returning(AIJob.id, AIJob.attempts, AIJob.request_id)
    ).first()
    if row is None:
        return None
    return Claim(job_id=row[0], worker_id=worker_id, attempts=row[1], request_id=row[2])


def renew_lease(*, db: Session, settings: Settings, claim: Claim) -> bool | None:
    """Extend the claim's lease; None if the job is no longer ours, else whether the creator
    asked to cancel it."""
    row = db.execute(
        update(AIJob)
        .where(_owned(claim))
        .values(lease_expires_at=utcnow() + timedelta(seconds=settings.job_lease_seconds))
        .returning(AIJob.cancel_requested)
    ).first()
    return None if row is None else bool(row[0])


def release_claim(*, db: Session, claim: Claim) -> bool:
    """Give a job back to the queue at once (worker shutting down); the try is not counted."""
    result = db.execute(
        update(AIJob)
        .where(_owned(claim))
        .values(
            state=AIJobState.queued,
            worker_id=None,
            lease_expires_at=None,
            progress=0.0,
            message="Waiting for the AI worker…",
            attempts=AIJob.attempts - 1,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def finish(
    *,
    db: Session,
    claim: Claim,
    state: AIJobState,
    message: str | None = None,
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> bool:
    """Record the claim's outcome; False if the job is no longer ours (nothing written)."""
    values: dict[str, Any] = {
        "state": state,
        "lease_expires_at": None,
        "finished_at": utcnow(),
        "error": error,
        "result": result,
    }
    if state == AIJobState.done:
        values["progress"] = 1.0
    if message is not None:
        values["message"] = message
    outcome = db.execute(update(AIJob).where(_owned(claim)).values(**values))
    return bool(outcome.rowcount)  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------
# Running one claimed job (in the job's process, or in-process for tests and benchmarks)


@dataclass
class JobContext:
    """What a handler gets: the job's identity and payload, and where to report progress."""

    job_id: int
    owner_id: int
    kind: AIJobKind
    subject: str
    payload: dict[str, Any]
    settings: Settings
    sessions: sessionmaker[Session]
    storage: Storage
    claim: Claim
    message: str = ""
    _last_write: float = field(default=-math.inf, repr=False)
    _pending: tuple[float, str] | None = field(default=None, repr=False)

    def progress(self, fraction: float, message: str) -> None:
        """Report how far the job is (0..1) and what it does; written at most every
        PROGRESS_WRITE_INTERVAL_S. Raises JobCancelled when the creator cancelled."""
        fraction = min(1.0, max(0.0, float(fraction)))
        self.message = message
        self._pending = (fraction, message)
        if time.monotonic() - self._last_write >= PROGRESS_WRITE_INTERVAL_S:
            self.flush()

    def flush(self) -> None:
        """Write the last progress now (and look for a cancel)."""
        values: dict[str, Any] = {
            "lease_expires_at": utcnow() + timedelta(seconds=self.settings.job_lease_seconds)
        }
        if self._pending is not None:
            values["progress"], values["message"] = self._pending
        with session_scope(self.sessions) as db:
            row = db.execute(
                update(AIJob)
                .where(_owned(self.claim))
                .values(**values)
                .returning(AIJob.cancel_requested)
            ).first()
        self._last_write = time.monotonic()
        self._pending = None
        if row is None:
            raise JobLost(f"AI job {self.job_id} is no longer this attempt's")
        if row[0]:
            raise JobCancelled(f"AI job {self.job_id} was cancelled")


def resolve_handler(spec: str) -> Handler:
    """ "package.module:function" → the function (imported now, in the job's process)."""
    module_name, _, name = spec.partition(":")
    handler: Handler = getattr(importlib.import_module(module_name), name)
    return handler


def _public_reason(exc: BaseException) -> str:
    from microdrama.ai.packaged import ModelMissing

    if isinstance(exc, JobFailed):
        return exc.public_message
    if isinstance(exc, DomainError):
        return exc.message
    if isinstance(exc, ModelMissing):
        return f"This needs a model that is not installed on the server: {exc}"
    return UNEXPECTED


def _json_result(result: object) -> dict[str, Any]:
    if not isinstance(result, dict):
        raise TypeError(f"a job handler returned {type(result).__name__}, not a dict")
    loaded: dict[str, Any] = json.loads(json.dumps(result, default=str))
    return loaded


def execute_claim(
    claim: Claim,
    *,
    sessions: sessionmaker[Session],
    settings: Settings,
    storage: Storage,
    handler: str | None = None,
) -> AIJobState | None:
    """Run a claimed job's handler here and record the outcome; None if the job was not (or is
    no longer) this claim's, or the process was told to stop (JobInterrupted propagates)."""
    with session_scope(sessions) as db:
        job = db.scalar(select(AIJob).where(_owned(claim)))
        if job is None:
            return None
        ctx = JobContext(
            job_id=job.id,
            owner_id=job.owner_id,
            kind=job.kind,
            subject=job.subject,
            payload=dict(job.payload or {}),
            settings=settings,
            sessions=sessions,
            storage=storage,
            claim=claim,
        )
        request_id = job.request_id
    # The handler's lines (and the jobs it queues) carry the id of the request that queued it.
    with bound_request_id(request_id):
        return _run_handler(ctx, claim, sessions=sessions, handler=handler)


def _run_handler(
    ctx: JobContext, claim: Claim, *, sessions: sessionmaker[Session], handler: str | None
) -> AIJobState | None:
    state, result, error, message = AIJobState.failed, None, None, None
    try:
        run = resolve_handler(handler or HANDLERS[ctx.kind])
        result = _json_result(run(ctx))
        state, message = AIJobState.done, ctx.message or "Done."
    except JobLost:
        log.warning("AI job %s was taken over; this attempt stops", claim.job_id)
        return None
    except JobCancelled:
        state, message = AIJobState.cancelled, CANCELLED
    except Exception as exc:
        log.exception("AI job %s (%s) failed", claim.job_id, ctx.kind.value)
        error, message = _public_reason(exc), "Failed."
    with session_scope(sessions) as db:
        if not finish(db=db, claim=claim, state=state, message=message, result=result, error=error):
            return None
    return state


def run_job_here(
    *,
    job_id: int,
    sessions: sessionmaker[Session],
    settings: Settings,
    storage: Storage,
    handler: str | None = None,
    worker_id: str | None = None,
) -> AIJob:
    """Claim one job and run it in this process (tests, benchmarks, `microdrama ai run`);
    returns the job as it ended. `handler` ("module:function") replaces the kind's."""
    with session_scope(sessions) as db:
        settle_abandoned_jobs(db=db, settings=settings)
    with session_scope(sessions) as db:
        claim = claim_next_job(
            db=db,
            settings=settings,
            worker_id=worker_id or f"{default_worker_id()}/here",
            job_id=job_id,
        )
    if claim is None:
        raise Conflict(f"AI job {job_id} is not waiting to run.")
    execute_claim(claim, sessions=sessions, settings=settings, storage=storage, handler=handler)
    with session_scope(sessions) as db:
        job = db.get(AIJob, job_id)
        assert job is not None
        db.expunge(job)
    return job


# ---------------------------------------------------------------------------------------------
# The worker: claims jobs and runs each in a child process


@dataclass
class AIWorker:
    """Claims AI jobs one at a time and runs each in a child process (`python -m
    microdrama.ai.runner`), renewing the lease and watching for a cancel while it runs.
    `handlers` replaces HANDLERS (tests register a tiny handler)."""

    sessions: sessionmaker[Session]
    settings: Settings
    handlers: Mapping[AIJobKind, str] = field(default_factory=lambda: dict(HANDLERS))
    worker_id: str = field(default_factory=lambda: f"{default_worker_id()}/ai")
    # The job's process runs this interpreter; its output goes where the worker's goes.
    python: str = sys.executable

    def run(self, *, stop: threading.Event, poll_seconds: float | None = None) -> None:
        """Process jobs until `stop` is set, looking for one every `poll_seconds` when idle."""
        idle_wait = self.settings.worker_poll_seconds if poll_seconds is None else poll_seconds
        while not stop.is_set():
            try:
                worked = self.run_next_job(stop=stop)
            except Exception:  # keep serving the queue; the job's lease will expire
                log.exception("AI worker %s: unexpected error", self.worker_id)
                worked = False
            if not worked:
                stop.wait(idle_wait)

    def run_next_job(self, *, stop: threading.Event | None = None) -> bool:
        """Claim one job and run it to its end in a child process; False if none was waiting."""
        with session_scope(self.sessions) as db:
            settle_abandoned_jobs(db=db, settings=self.settings)
        with session_scope(self.sessions) as db:
            claim = claim_next_job(db=db, settings=self.settings, worker_id=self.worker_id)
        if claim is None:
            return False
        with bound_request_id(claim.request_id):
            log.info("AI worker claimed job %s (attempt %s)", claim.job_id, claim.attempts)
            state = self.process_claim(claim, stop=stop or threading.Event())
            log.info("AI job %s ended: %s", claim.job_id, state.value if state else "given up")
        return True

    def _spawn(self, claim: Claim, kind: AIJobKind) -> subprocess.Popen[bytes]:
        order = {
            "job_id": claim.job_id,
            "worker_id": claim.worker_id,
            "attempts": claim.attempts,
            "handler": self.handlers[kind],
            "settings": self.settings.model_dump(mode="json"),
            "log_level": logging.getLogger().getEffectiveLevel(),
        }
        process = subprocess.Popen(
            [self.python, "-m", "microdrama.ai.runner"],
            stdin=subprocess.PIPE,
            # Its own process group, so a kill reaches what the job started (ffmpeg); and it
            # dies with this worker, whose job is then claimed again after the lease.
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        assert process.stdin is not None
        # Through a pipe, not the command line or the environment: the settings hold secrets.
        process.stdin.write(json.dumps(order).encode())
        process.stdin.close()
        return process

    def process_claim(self, claim: Claim, *, stop: threading.Event) -> AIJobState | None:
        with session_scope(self.sessions) as db:
            kind = db.scalar(select(AIJob.kind).where(_owned(claim)))
        if kind is None:
            return None
        process = self._spawn(claim, kind)
        interval = min(PROGRESS_WRITE_INTERVAL_S, self.settings.job_lease_seconds / 3)
        deadline = time.monotonic() + self.settings.ai_job_timeout_seconds
        while True:
            try:
                code = process.wait(timeout=interval)
                break
            except subprocess.TimeoutExpired:
                pass
            try:
                with session_scope(self.sessions) as db:
                    cancel_requested = renew_lease(db=db, settings=self.settings, claim=claim)
            except Exception:  # a database hiccup: try again next beat, the lease has slack
                log.exception("lease renewal of AI job %s failed", claim.job_id)
                continue
            if cancel_requested is None:  # the lease ran out and another worker owns it
                log.warning("AI job %s was taken over; stopping this attempt", claim.job_id)
                _stop_process(process)
                return None
            if cancel_requested:
                _stop_process(process)
                return self._settle(claim, AIJobState.cancelled, message=CANCELLED)
            if stop.is_set():
                _stop_process(process)
                with session_scope(self.sessions) as db:
                    release_claim(db=db, claim=claim)
                return None
            if time.monotonic() > deadline:
                _stop_process(process)
                minutes = math.ceil(self.settings.ai_job_timeout_seconds / 60)
                return self._settle(
                    claim,
                    AIJobState.failed,
                    error=f"The job took longer than {minutes} minutes and was stopped.",
                )
        # The child recorded its outcome itself, unless it crashed (or was killed) first.
        with session_scope(self.sessions) as db:
            job = db.get(AIJob, claim.job_id, populate_existing=True)
            assert job is not None
            if not (job.state == AIJobState.running and job.worker_id == claim.worker_id):
                return job.state if job.attempts == claim.attempts else None
            asked_to_cancel = job.cancel_requested
        if asked_to_cancel:
            return self._settle(claim, AIJobState.cancelled, message=CANCELLED)
        log.error("AI job %s: its process exited with %s without an outcome", claim.job_id, code)
        return self._settle(claim, AIJobState.failed, error=CRASHED)

    def _settle(
        self,
        claim: Claim,
        state: AIJobState,
        *,
        message: str | None = None,
        error: str | None = None,
    ) -> AIJobState | None:
        with session_scope(self.sessions) as db:
            written = finish(
                db=db,
                claim=claim,
                state=state,
                message=message or ("Failed." if error else None),
                error=error,
            )
        return state if written else None


def _stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the job's process group, SIGKILL after KILL_GRACE_S; reaped either way."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(KILL_GRACE_S)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    process.wait()
