"""Transcode jobs under concurrency and crashes: claimed once, leased, retried, given up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.models import Account
from microdrama.catalog.models import EpisodeState
from microdrama.config import Settings
from microdrama.db import session_scope, utcnow
from microdrama.media import jobs, service
from microdrama.media.models import AssetStatus, JobState, MediaAsset, TranscodeJob
from microdrama.media.transcode import die_with_parent
from microdrama.storage import LocalStorage
from tests.support.clips import cached_clip
from tests.support.factories import make_creator, make_series
from tests.support.media import RunJob

WAIT_S = 60.0


def _queue_fake_jobs(db: Session, count: int) -> list[int]:
    """Jobs whose sources do not exist: enough to test claiming without running ffmpeg."""
    owner = make_creator(db)
    ids = []
    for i in range(count):
        asset = MediaAsset(owner_id=owner.id, source_key=f"assets/x{i}/source/original.mp4")
        db.add(asset)
        db.flush()
        job = TranscodeJob(asset_id=asset.id)
        db.add(job)
        db.flush()
        ids.append(job.id)
    db.commit()
    return ids


def test_concurrent_workers_claim_every_job_exactly_once(
    db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    job_ids = _queue_fake_jobs(db, 40)
    claimed: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(6)

    def worker(n: int) -> None:
        start.wait()
        while True:
            with session_scope(db_factory) as session:
                claim = jobs.claim_next_job(db=session, settings=settings, worker_id=f"w{n}")
            if claim is None:
                return
            with lock:
                claimed.append(claim.job_id)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(claimed) == job_ids, Counter(claimed).most_common(3)
    db.expire_all()
    rows = [db.get(TranscodeJob, i) for i in job_ids]
    assert all(r is not None and (r.state, r.attempts) == (JobState.running, 1) for r in rows)


def test_a_leased_job_is_not_taken_until_its_lease_expires(
    db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    (job_id,) = _queue_fake_jobs(db, 1)
    with session_scope(db_factory) as session:
        first = jobs.claim_next_job(db=session, settings=settings, worker_id="first")
    with session_scope(db_factory) as session:
        assert jobs.claim_next_job(db=session, settings=settings, worker_id="second") is None
        session.execute(
            update(TranscodeJob).values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
    with session_scope(db_factory) as session:
        second = jobs.claim_next_job(db=session, settings=settings, worker_id="second")

    assert first is not None and second is not None
    assert (second.job_id, second.attempts) == (job_id, 2)
    with session_scope(db_factory) as session:
        assert not jobs.renew_lease(db=session, settings=settings, claim=first), (
            "the first worker must learn it lost the job"
        )
        assert jobs.renew_lease(db=session, settings=settings, claim=second)


def test_job_whose_worker_died_on_every_attempt_fails_with_a_reason(
    db: Session, settings: Settings, run_job: RunJob
) -> None:
    series = make_series(db, episodes=1, ready=0)
    episode = series.episodes[0]
    job = TranscodeJob(
        asset_id=episode.media_asset_id,
        state=JobState.running,
        attempts=settings.job_max_attempts,
        worker_id="dead-worker",
        lease_expires_at=utcnow() - timedelta(seconds=1),
    )
    db.add(job)
    db.commit()

    assert not run_job(), "an exhausted job is not run again"

    db.expire_all()
    assert job.state == JobState.failed
    assert job.error is not None and f"each of {settings.job_max_attempts} attempts" in job.error
    assert job.asset.status == AssetStatus.failed
    assert episode.state == EpisodeState.failed


def _ingest(db: Session, storage: LocalStorage, settings: Settings, source: Path) -> int:
    owner: Account = make_creator(db)
    _, job = service.ingest_upload(
        db=db, storage=storage, settings=settings, owner=owner, filename="ep.mp4", source=source
    )
    db.commit()
    return job.id


def _wait_for(predicate: object, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def _job(db_factory: sessionmaker[Session], job_id: int) -> TranscodeJob:
    with db_factory() as session:
        job = session.get(TranscodeJob, job_id)
        assert job is not None
        return job


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(p) for p in text]
    return found


def _is_gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in status  # dead, waiting only to be reaped by init


@pytest.fixture
def worker_process(settings: Settings, tmp_path: Path) -> Iterator[list[subprocess.Popen[str]]]:
    """Start `microdrama worker` subprocesses on the test's database and data dir."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()


def _start_worker(settings: Settings, cwd: Path, *, preset: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MICRODRAMA_")}
    env.update(
        MICRODRAMA_ENVIRONMENT="test",
        MICRODRAMA_DATABASE_URL=settings.database_url,
        MICRODRAMA_DATA_DIR=str(settings.data_dir),
        MICRODRAMA_LADDER_HEIGHTS="[640, 426, 320]",
        MICRODRAMA_X264_PRESET=preset,
        MICRODRAMA_JOB_LEASE_SECONDS=str(settings.job_lease_seconds),
        MICRODRAMA_WORKER_POLL_SECONDS="0.1",
    )
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("microdrama")), "worker"],
        cwd=cwd,  # away from any developer .env
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_job_of_a_killed_worker_is_finished_by_another_after_the_lease_expires(
    db: Session,
    db_factory: sessionmaker[Session],
    storage: LocalStorage,
    settings: Settings,
    tmp_path: Path,
    run_job: RunJob,
    worker_process: list[subprocess.Popen[str]],
) -> None:
    job_id = _ingest(db, storage, settings, cached_clip(seconds=16, label="KILL"))
    doomed = _start_worker(settings, tmp_path, preset="veryslow")
    worker_process.append(doomed)
    _wait_for(lambda: _job(db_factory, job_id).progress > 0, "the worker to report progress")
    encoders = _children(doomed.pid)
    assert len(encoders) == 1, "one ffmpeg process for the whole ladder"
    assert _job(db_factory, job_id).state == JobState.running

    doomed.send_signal(signal.SIGKILL)
    doomed.wait()

    _wait_for(lambda: _is_gone(encoders[0]), "ffmpeg to die with its worker")
    _wait_for(lambda: run_job(worker_id="rescuer"), "the lease to expire and the job to be run")
    job = _job(db_factory, job_id)
    assert (job.state, job.attempts, job.worker_id) == (JobState.done, 2, "rescuer")
    with db_factory() as session:
        asset = session.get(MediaAsset, job.asset_id)
        assert asset is not None and asset.status == AssetStatus.ready
        assert abs(asset.duration_ms - 16_000) <= 100


@pytest.mark.slow
def test_stopped_worker_gives_its_job_back_and_kills_ffmpeg(
    db: Session,
    db_factory: sessionmaker[Session],
    storage: LocalStorage,
    settings: Settings,
    tmp_path: Path,
    worker_process: list[subprocess.Popen[str]],
) -> None:
    job_id = _ingest(db, storage, settings, cached_clip(seconds=16, label="KILL"))
    worker = _start_worker(settings, tmp_path, preset="veryslow")
    worker_process.append(worker)
    _wait_for(lambda: _job(db_factory, job_id).progress > 0, "the worker to report progress")
    encoders = _children(worker.pid)

    worker.send_signal(signal.SIGTERM)

    assert worker.wait(timeout=WAIT_S) == 0, worker.stderr.read() if worker.stderr else ""
    assert all(_is_gone(pid) for pid in encoders)
    job = _job(db_factory, job_id)
    assert (job.state, job.attempts, job.worker_id) == (JobState.queued, 0, None)


def test_embedded_worker_transcodes_uploads_in_the_background_and_stops_cleanly(
    db: Session,
    db_factory: sessionmaker[Session],
    storage: LocalStorage,
    settings: Settings,
) -> None:
    job_id = _ingest(db, storage, settings, cached_clip(seconds=4))
    worker = jobs.EmbeddedWorker(settings=settings, sessionmaker=db_factory, storage=storage)
    worker.start()
    try:
        _wait_for(lambda: _job(db_factory, job_id).state == JobState.done, "the embedded worker")
    finally:
        worker.stop()

    assert not any(t.name == "embedded-transcode-worker" for t in threading.enumerate())


def test_encoder_child_is_killed_when_the_thread_that_started_it_ends() -> None:
    # ffmpeg also dies of a broken progress pipe, but only when it next writes to it; the
    # parent-death signal is what guarantees a silent or stuck encoder cannot outlive us.
    started: list[subprocess.Popen[bytes]] = []

    def spawn() -> None:
        started.append(subprocess.Popen(["sleep", "60"], preexec_fn=die_with_parent))

    thread = threading.Thread(target=spawn)
    thread.start()
    thread.join()
    try:
        assert started[0].wait(timeout=WAIT_S) == -signal.SIGKILL
    finally:
        started[0].kill()
