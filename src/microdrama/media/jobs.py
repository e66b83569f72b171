"""Transcode workers: claim queued jobs safely, run them with a renewed lease, record the outcome.

Any number of workers (threads, processes, machines) share one queue: the jobs table. A
claim is one atomic UPDATE (with FOR UPDATE SKIP LOCKED on PostgreSQL; SQLite has a
single writer), and a claimed job carries a lease that its worker renews while ffmpeg
runs. A worker that dies stops renewing, so another worker claims the job again after the
lease expires; after settings.job_max_attempts claims the job fails with a reason.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from microdrama.config import Settings
from microdrama.db import session_scope, utcnow
from microdrama.errors import InvalidMedia
from microdrama.logs import bound_request_id
from microdrama.media import service
from microdrama.media.models import JobState, TranscodeJob
from microdrama.media.probe import probe
from microdrama.media.transcode import (
    TranscodeCancelled,
    TranscodeError,
    new_aes_key,
    transcode,
)
from microdrama.storage import Storage, StorageUnavailable

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, float], None]
# Progress is written at most this often: a progress bar needs no more, the database less.
PROGRESS_WRITE_INTERVAL_S = 0.5
# What a creator reads when ffmpeg gives up on a file that probed fine.
UNDECODABLE = (
    "This video couldn't be converted for playback; the file may be damaged. "
    "Export it again as an MP4 and replace it."
)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class Claim:
    """A job this worker holds: `attempts` tells this claim apart from earlier ones."""

    job_id: int
    worker_id: str
    attempts: int
    # The request that queued the job: the worker's lines about it carry this id.
    request_id: str | None = None


def _claimable(now: datetime) -> ColumnElement[bool]:
    return or_(
        # A queued job's lease_expires_at, when set, is when it may be tried again (a try that
        # could not reach the storage: postpone_job).
        (TranscodeJob.state == JobState.queued)
        & (TranscodeJob.lease_expires_at.is_(None) | (TranscodeJob.lease_expires_at < now)),
        (TranscodeJob.state == JobState.running) & (TranscodeJob.lease_expires_at < now),
    )


def fail_exhausted_jobs(*, db: Session, settings: Settings) -> list[int]:
    """Fail jobs whose worker died on every allowed attempt; returns their ids."""
    now = utcnow()
    exhausted = (
        TranscodeJob.state == JobState.running,
        TranscodeJob.lease_expires_at < now,
        TranscodeJob.attempts >= settings.job_max_attempts,
    )
    # Read first: an idle worker polls often, and a write each time would contend on SQLite.
    if db.scalar(select(TranscodeJob.id).where(*exhausted).limit(1)) is None:
        return []
    ids = db.scalars(
        update(TranscodeJob)
        .where(*exhausted)
        .values(state=JobState.failed, lease_expires_at=None, finished_at=now)
        .returning(TranscodeJob.id)
    ).all()
    for job_id in ids:
        job = db.get(TranscodeJob, job_id, populate_existing=True)
        assert job is not None
        reason = (
            f"the worker stopped responding on each of {job.attempts} attempts "
            "(crashed, killed or out of memory)"
        )
        service.mark_job_failed(db=db, job=job, reason=reason)
    return list(ids)


def claim_next_job(
    *, db: Session, settings: Settings, worker_id: str, job_id: int | None = None
) -> Claim | None:
    """Atomically take the oldest claimable job (or the given one) for this worker."""
    now = utcnow()
    candidate = select(TranscodeJob.id).where(_claimable(now))
    if job_id is not None:
        candidate = candidate.where(TranscodeJob.id == job_id)
    # Read first (see fail_exhausted_jobs); the UPDATE below is what makes the claim safe.
    if db.scalar(candidate.limit(1)) is None:
        return None
    # SKIP LOCKED lets PostgreSQL workers pass over rows another claim is taking right now;
    # on SQLite the clause is not rendered and the single writer serialises the UPDATE.
    candidate = candidate.order_by(TranscodeJob.id).limit(1).with_for_update(skip_locked=True)
    row = db.execute(
        update(TranscodeJob)
        .where(TranscodeJob.id == candidate.scalar_subquery())
        .values(
            state=JobState.running,
            worker_id=worker_id,
            attempts=TranscodeJob.attempts + 1,
            lease_expires_at=now + timedelta(seconds=settings.job_lease_seconds),
            started_at=now,
            progress=0.0,
            error=None,
        )
        .returning(TranscodeJob.id, TranscodeJob.attempts, TranscodeJob.request_id)
    ).first()
    if row is None:
        return None
    return Claim(job_id=row[0], worker_id=worker_id, attempts=row[1], request_id=row[2])


def _owned(claim: Claim) -> ColumnElement[bool]:
    return (
        (TranscodeJob.id == claim.job_id)
        & (TranscodeJob.state == JobState.running)
        & (TranscodeJob.worker_id == claim.worker_id)
        & (TranscodeJob.attempts == claim.attempts)
    )


def renew_lease(
    *, db: Session, settings: Settings, claim: Claim, progress: float | None = None
) -> bool:
    """Extend the claim's lease (and store progress); False if the job is no longer ours."""
    values: dict[str, object] = {
        "lease_expires_at": utcnow() + timedelta(seconds=settings.job_lease_seconds)
    }
    if progress is not None:
        values["progress"] = progress
    result = db.execute(update(TranscodeJob).where(_owned(claim)).values(**values))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def release_claim(*, db: Session, claim: Claim) -> bool:
    """Give a job back to the queue at once (worker shutting down); the try is not counted."""
    result = db.execute(
        update(TranscodeJob)
        .where(_owned(claim))
        .values(
            state=JobState.queued,
            worker_id=None,
            lease_expires_at=None,
            progress=0.0,
            attempts=TranscodeJob.attempts - 1,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def _lock_owned_job(db: Session, claim: Claim) -> TranscodeJob | None:
    job = db.scalar(
        select(TranscodeJob)
        .where(_owned(claim))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return job


class _Heartbeat:
    """Renews the lease and writes progress from a side thread while ffmpeg runs."""

    def __init__(self, *, worker: Worker, claim: Claim, cancel: threading.Event) -> None:
        self.worker = worker
        self.claim = claim
        self.cancel = cancel
        self.progress = 0.0
        self.lost = False
        self._stop = threading.Event()
        self._written = -1.0
        self._thread = threading.Thread(target=self._run, daemon=True, name="job-heartbeat")
        # Renew well before expiry, and write progress often enough for a smooth bar.
        self.interval_s = min(PROGRESS_WRITE_INTERVAL_S, worker.settings.job_lease_seconds / 3)

    def report(self, progress: float) -> None:
        self.progress = progress
        if self.worker.on_progress is not None:
            self.worker.on_progress(self.claim.job_id, progress)

    def _beat(self) -> None:
        progress = self.progress if self.progress != self._written else None
        try:
            with session_scope(self.worker.sessions) as db:
                owned = renew_lease(
                    db=db, settings=self.worker.settings, claim=self.claim, progress=progress
                )
        except Exception:  # a database hiccup: try again next beat, the lease has slack
            log.exception("lease renewal of job %s failed", self.claim.job_id)
            return
        if progress is not None:
            self._written = progress
        if not owned:
            log.warning("job %s was taken over; stopping this attempt", self.claim.job_id)
            self.lost = True
            self.cancel.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._beat()

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass(frozen=True)
class Worker:
    """What a transcode worker works with, held once: the sessions, the media storage, the
    settings, and who hears of each job's progress (the demo seed's bars)."""

    sessions: sessionmaker[Session]
    storage: Storage
    settings: Settings
    on_progress: ProgressCallback | None = None

    def process_claim(
        self, claim: Claim, *, stop: threading.Event | None = None
    ) -> JobState | None:
        """Transcode a claimed job and record its outcome; None if it was given up or taken over."""
        with session_scope(self.sessions) as db:
            job = _lock_owned_job(db, claim)
            if job is None:
                return None
            asset_id, source_key = job.asset_id, job.asset.source_key
            service.mark_asset_processing(db=db, asset=job.asset)

        cancel = threading.Event()
        stop_relay = _relay(stop, cancel)
        prefix = f"{service.asset_prefix(asset_id)}/hls"
        reason: str | None = None
        public_reason: str | None = None  # ffmpeg's words and paths stay in the job and the log
        result = None
        # A new key for every attempt: a retry re-encrypts everything, nothing old stays valid.
        aes_key = new_aes_key()
        try:
            with (
                _Heartbeat(worker=self, claim=claim, cancel=cancel) as heartbeat,
                tempfile.TemporaryDirectory(prefix=f"microdrama-job{claim.job_id}-") as tmp,
                self.storage.local_copy(source_key) as source_path,
            ):
                work_dir = Path(tmp)
                try:
                    info = probe(source_path, settings=self.settings)
                    output = transcode(
                        settings=self.settings,
                        source_path=source_path,
                        source=info,
                        work_dir=work_dir,
                        aes_key=aes_key,
                        on_progress=heartbeat.report,
                        cancel=cancel,
                    )
                    # A retried job may have left a partial ladder; start from a clean prefix.
                    self.storage.delete_prefix(prefix)
                    self.storage.save_tree(prefix, work_dir)
                    result = output
                except InvalidMedia as exc:
                    reason = exc.message
                except TranscodeError as exc:
                    reason, public_reason = str(exc), UNDECODABLE
                except FileNotFoundError as exc:
                    reason = f"the source file is missing from storage: {exc}"
                    public_reason = "The uploaded file is missing on the server; upload it again."
        except TranscodeCancelled:
            if stop is not None and stop.is_set():
                with session_scope(self.sessions) as db:
                    release_claim(db=db, claim=claim)
            return None
        except StorageUnavailable as exc:
            # Not the video's fault: the job waits and is tried again, its reason shown.
            log.warning("job %s: %s; retried in %s s", claim.job_id, exc.reason, self._retry_s)
            with session_scope(self.sessions) as db:
                job = _lock_owned_job(db, claim)
                if job is None:
                    return None
                retry_at = utcnow() + timedelta(seconds=self._retry_s)
                service.postpone_job(db=db, job=job, reason=exc.reason, retry_at=retry_at)
            return JobState.queued
        finally:
            stop_relay()

        with session_scope(self.sessions) as db:
            job = _lock_owned_job(db, claim)
            if job is None:  # the lease ran out and another worker owns the job now
                return None
            if result is None:
                log.warning("job %s failed: %s", claim.job_id, reason)
                service.mark_job_failed(
                    db=db, job=job, reason=reason or "unknown error", public_reason=public_reason
                )
                state = JobState.failed
            else:
                service.mark_asset_ready(
                    db=db,
                    job=job,
                    master_playlist_key=f"{prefix}/{result.master_playlist}",
                    poster_key=f"{prefix}/{result.poster}",
                    renditions=[
                        {
                            "width": rung.width,
                            "height": rung.height,
                            "bandwidth": rung.bandwidth,
                            "playlist_key": f"{prefix}/{playlist}",
                        }
                        for rung, playlist in result.renditions
                    ],
                    thumbnails=[
                        {"time_ms": time_ms, "key": f"{prefix}/{name}"}
                        for time_ms, name in result.thumbnails
                    ],
                    duration_ms=result.duration_ms,
                    aes_key=aes_key,
                )
                state = JobState.done
        if state == JobState.failed:
            try:
                self.storage.delete_prefix(prefix)
            except StorageUnavailable as exc:  # a partial ladder of a failed asset: only space
                log.warning("job %s: its partial output stays: %s", claim.job_id, exc.reason)
        if self.on_progress is not None and state == JobState.done:
            self.on_progress(claim.job_id, 1.0)
        return state

    @property
    def _retry_s(self) -> int:
        return self.settings.job_retry_seconds

    def run_next_job(
        self, *, worker_id: str, stop: threading.Event | None = None, job_id: int | None = None
    ) -> bool:
        """Claim one job (or the given one) and process it fully here; False if none was
        claimable."""
        with session_scope(self.sessions) as db:
            fail_exhausted_jobs(db=db, settings=self.settings)
        with session_scope(self.sessions) as db:
            claim = claim_next_job(
                db=db, settings=self.settings, worker_id=worker_id, job_id=job_id
            )
        if claim is None:
            return False
        with bound_request_id(claim.request_id):
            log.info(
                "worker %s claimed job %s (attempt %s)", worker_id, claim.job_id, claim.attempts
            )
            state = self.process_claim(claim, stop=stop)
            log.info("job %s ended: %s", claim.job_id, state.value if state else "given up")
        return True

    def run(
        self,
        *,
        stop: threading.Event,
        worker_id: str | None = None,
        concurrency: int = 1,
        poll_seconds: float | None = None,
    ) -> None:
        """Process jobs until `stop` is set; `concurrency` jobs at a time, each in its own
        thread. An idle thread looks for a job every `poll_seconds`
        (settings.worker_poll_seconds)."""
        base_id = worker_id or default_worker_id()
        idle_wait = self.settings.worker_poll_seconds if poll_seconds is None else poll_seconds

        def loop(slot: int) -> None:
            slot_id = base_id if concurrency == 1 else f"{base_id}/{slot}"
            while not stop.is_set():
                try:
                    worked = self.run_next_job(worker_id=slot_id, stop=stop)
                except Exception:  # keep serving the queue; the job's lease will expire
                    log.exception("worker %s: unexpected error", slot_id)
                    worked = False
                if not worked:
                    stop.wait(idle_wait)

        threads = [
            threading.Thread(target=loop, args=(i,), name=f"transcode-worker-{i}", daemon=True)
            for i in range(max(1, concurrency))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def _relay(stop: threading.Event | None, cancel: threading.Event) -> Callable[[], None]:
    """Forward a worker-wide stop into this job's cancel event; returns the undo."""
    if stop is None:
        return lambda: None
    done = threading.Event()

    def forward() -> None:
        # Waits on `done`, not on `stop`: the undo then ends the thread at once, where a wait
        # on `stop` held every job's end up to a poll (0.2 s).
        while not stop.is_set():
            if done.wait(0.2):
                return
        cancel.set()

    thread = threading.Thread(target=forward, daemon=True, name="job-stop-relay")
    thread.start()

    def undo() -> None:
        done.set()
        thread.join()

    return undo


class EmbeddedWorker:
    """A transcode worker inside this process (the web server's own, the demo seed's): a
    daemon thread running `Worker.run` until `stop`."""

    def __init__(
        self,
        *,
        settings: Settings,
        sessionmaker: sessionmaker[Session],
        storage: Storage,
        concurrency: int = 1,
        name: str = "embedded",
        on_progress: ProgressCallback | None = None,
        poll_seconds: float | None = None,
    ) -> None:
        self.name = name
        self.worker_id = f"{default_worker_id()}/{name}"
        self._stop = threading.Event()
        worker = Worker(
            sessions=sessionmaker, storage=storage, settings=settings, on_progress=on_progress
        )
        self._run = functools.partial(
            worker.run,
            stop=self._stop,
            worker_id=self.worker_id,
            concurrency=concurrency,
            poll_seconds=poll_seconds,
        )
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"{self.name}-transcode-worker", daemon=True
        )
        self._thread.start()

    def stop(self, timeout_s: float | None = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
