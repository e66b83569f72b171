"""AI jobs: queued, claimed with a lease, run in a child process, cancelled by a kill, reclaimed
from a dead worker, failed with words a creator can read."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from microdrama.ai import jobs
from microdrama.ai.models import AIJob, AIJobKind, AIJobState
from microdrama.config import Settings
from microdrama.db import session_scope, utcnow
from microdrama.errors import Conflict
from microdrama.storage import LocalStorage
from tests.ai.job_handlers import HERE
from tests.support.factories import make_creator

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 30.0


def _queue(db: Session, settings: Settings, payload: dict | None = None) -> int:
    owner = make_creator(db)
    job = jobs.enqueue(
        db,
        settings=settings,
        kind=AIJobKind.writers_room,
        owner_id=owner.id,
        payload=payload or {},
        subject="project:1",
    )
    db.commit()
    return job.id


def _job(factory: sessionmaker[Session], job_id: int) -> AIJob:
    with session_scope(factory) as db:
        job = db.get(AIJob, job_id)
        assert job is not None
        db.expunge(job)
        return job


def _wait_for(what: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not what():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose (it does nothing, holds no memory).
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text()


@pytest.fixture
def storage(settings: Settings) -> LocalStorage:
    return LocalStorage(settings.media_dir, settings.media_url_prefix)


@pytest.fixture
def worker(
    db_factory: sessionmaker[Session], settings: Settings
) -> Iterator[Callable[[str], None]]:
    """Start an AIWorker in a thread of this process (its jobs run in child processes) whose
    writers'-room handler is the given test handler."""
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def start(handler: str) -> None:
        ai = jobs.AIWorker(
            sessions=db_factory,
            settings=settings,
            handlers={AIJobKind.writers_room: f"{HERE}:{handler}"},
        )
        thread = threading.Thread(target=ai.run, kwargs={"stop": stop, "poll_seconds": 0.1})
        thread.start()
        threads.append(thread)

    yield start
    stop.set()
    for thread in threads:
        thread.join(30)


def test_a_job_runs_to_done_with_its_result(
    db: Session, db_factory: sessionmaker[Session], settings: Settings, storage: LocalStorage
) -> None:
    job_id = _queue(db, settings, {"steps": 3})
    queued = _job(db_factory, job_id)
    assert (queued.state, queued.progress, queued.attempts) == (AIJobState.queued, 0.0, 0)

    job = jobs.run_job_here(
        job_id=job_id,
        sessions=db_factory,
        settings=settings,
        storage=storage,
        handler=f"{HERE}:steps",
    )

    assert job.state == AIJobState.done
    assert job.progress == 1.0
    assert job.message == "All steps done"
    assert job.result == {"steps": 3, "pid": os.getpid()}
    assert job.attempts == 1 and job.error is None
    assert job.started_at is not None and job.finished_at is not None
    # A finished job is not run again.
    with pytest.raises(Conflict):
        jobs.run_job_here(job_id=job_id, sessions=db_factory, settings=settings, storage=storage)


def test_a_failing_handler_tells_the_creator_why_in_plain_words(
    db: Session, db_factory: sessionmaker[Session], settings: Settings, storage: LocalStorage
) -> None:
    first, second = _queue(db, settings), _queue(db, settings)
    run = {"sessions": db_factory, "settings": settings, "storage": storage}

    gave_up = jobs.run_job_here(job_id=first, handler=f"{HERE}:gives_up", **run)
    crashed = jobs.run_job_here(job_id=second, handler=f"{HERE}:crashes", **run)

    assert gave_up.state == AIJobState.failed
    assert gave_up.error == "The premise is empty: write one sentence about your series."
    assert crashed.state == AIJobState.failed
    assert crashed.error == jobs.UNEXPECTED  # no internal detail reaches the creator
    assert crashed.result is None


def test_the_worker_runs_each_job_in_a_child_process(
    db: Session,
    db_factory: sessionmaker[Session],
    settings: Settings,
    worker: Callable[[str], None],
) -> None:
    job_id = _queue(db, settings, {"steps": 2})
    worker("steps")

    _wait_for(lambda: _job(db_factory, job_id).state.final)

    job = _job(db_factory, job_id)
    assert job.state == AIJobState.done, job.error
    assert job.result is not None and job.result["steps"] == 2
    assert job.result["pid"] != os.getpid()  # the model would never load in this process


def test_a_process_that_dies_fails_its_job_with_a_reason(
    db: Session,
    db_factory: sessionmaker[Session],
    settings: Settings,
    worker: Callable[[str], None],
) -> None:
    job_id = _queue(db, settings)
    worker("dies")

    _wait_for(lambda: _job(db_factory, job_id).state.final)

    job = _job(db_factory, job_id)
    assert job.state == AIJobState.failed
    assert job.error == jobs.CRASHED


def test_cancelling_a_queued_job_stops_it_before_it_runs(
    db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    job_id = _queue(db, settings)
    owner_id = _job(db_factory, job_id).owner_id

    with session_scope(db_factory) as session:
        cancelled = jobs.cancel(session, job_id=job_id, owner_id=owner_id)
        assert cancelled.state == AIJobState.cancelled
    with session_scope(db_factory) as session:
        assert jobs.claim_next_job(db=session, settings=settings, worker_id="w") is None


def test_cancel_kills_the_running_process_and_keeps_nothing(
    db: Session,
    db_factory: sessionmaker[Session],
    settings: Settings,
    worker: Callable[[str], None],
    tmp_path: Path,
) -> None:
    pid_file, out = tmp_path / "pid", tmp_path / "out"
    job_id = _queue(db, settings, {"pid_file": str(pid_file), "out": str(out), "seconds": 60})
    owner_id = _job(db_factory, job_id).owner_id
    worker("stubborn")
    _wait_for(pid_file.exists)
    pid = int(pid_file.read_text())
    assert _alive(pid)
    running = _job(db_factory, job_id)
    assert (running.state, running.message) == (AIJobState.running, "Working hard")

    with session_scope(db_factory) as session:
        asked = jobs.cancel(session, job_id=job_id, owner_id=owner_id)
        assert asked.state == AIJobState.running and asked.cancel_requested

    _wait_for(lambda: _job(db_factory, job_id).state.final, timeout_s=15)
    job = _job(db_factory, job_id)
    assert job.state == AIJobState.cancelled
    assert job.result is None and job.error is None
    _wait_for(lambda: not _alive(pid), timeout_s=5)
    assert not out.exists()  # the handler never got to write its output


def _worker_process(settings: Settings, handler: str) -> subprocess.Popen[bytes]:
    """An AI worker in a process of its own (tests/ai/job_worker_process.py)."""
    order = {
        "settings": settings.model_dump(mode="json"),
        "handlers": {"writers_room": f"{HERE}:{handler}"},
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.ai.job_worker_process"], stdin=subprocess.PIPE, cwd=ROOT
    )
    assert process.stdin is not None
    process.stdin.write(json.dumps(order).encode())
    process.stdin.close()
    return process


def test_a_stopped_worker_hands_its_job_back_to_the_queue(
    db: Session, db_factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pid"
    job_id = _queue(
        db, settings, {"pid_file": str(pid_file), "out": str(tmp_path / "out"), "seconds": 60}
    )
    process = _worker_process(settings, "stubborn")
    try:
        _wait_for(pid_file.exists)
        child = int(pid_file.read_text())
        process.send_signal(signal.SIGTERM)  # a deploy: stop now, the job is not lost
        assert process.wait(20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert not _alive(child)
    job = _job(db_factory, job_id)
    assert (job.state, job.attempts, job.worker_id) == (AIJobState.queued, 0, None)
    assert not (tmp_path / "out").exists()


def test_a_killed_workers_job_is_claimed_again_after_its_lease(
    db: Session,
    db_factory: sessionmaker[Session],
    settings: Settings,
    storage: LocalStorage,
    tmp_path: Path,
) -> None:
    # A lease long enough that a loaded machine cannot outlast it between the kill and the look.
    settings = settings.model_copy(update={"job_lease_seconds": 5})
    pid_file = tmp_path / "pid"
    job_id = _queue(
        db, settings, {"pid_file": str(pid_file), "out": str(tmp_path / "out"), "seconds": 60}
    )
    process = _worker_process(settings, "stubborn")
    try:
        _wait_for(pid_file.exists)
        child = int(pid_file.read_text())
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()

    abandoned = _job(db_factory, job_id)
    assert (abandoned.state, abandoned.attempts) == (AIJobState.running, 1)
    # Nobody else may take it while the lease holds...
    with session_scope(db_factory) as session:
        assert jobs.claim_next_job(db=session, settings=settings, worker_id="other") is None
    _wait_for(lambda: not _alive(child), timeout_s=5)  # the job's process died with its worker
    _wait_for(lambda: _job(db_factory, job_id).lease_expires_at < utcnow(), timeout_s=10)

    # ...and after it, the next worker runs it to the end.
    job = jobs.run_job_here(
        job_id=job_id, sessions=db_factory, settings=settings, storage=storage,
        handler=f"{HERE}:steps",
    )  # fmt: skip
    assert (job.state, job.attempts) == (AIJobState.done, 2)


def test_a_job_whose_worker_died_on_every_attempt_fails_with_a_reason(
    db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    job_id = _queue(db, settings)
    with session_scope(db_factory) as session:
        session.execute(
            update(AIJob)
            .where(AIJob.id == job_id)
            .values(
                state=AIJobState.running,
                worker_id="dead",
                attempts=settings.job_max_attempts,
                lease_expires_at=utcnow() - timedelta(seconds=1),
            )
        )

    with session_scope(db_factory) as session:
        assert jobs.claim_next_job(db=session, settings=settings, worker_id="w") is None
        assert jobs.settle_abandoned_jobs(db=session, settings=settings) == [job_id]

    job = _job(db_factory, job_id)
    assert job.state == AIJobState.failed
    assert job.error is not None and "stopped responding" in job.error


def test_every_kind_has_a_handler_the_job_process_can_import() -> None:
    assert set(jobs.HANDLERS) == set(AIJobKind)
    for spec in jobs.HANDLERS.values():
        assert callable(jobs.resolve_handler(spec)), spec
