"""A worker's heartbeat: a thread that renews the worker's row in `worker_heartbeats` every
HEARTBEAT_SECONDS (idle or busy), so the status page and /metrics see idle workers too, and a
worker that died stops renewing it."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy import delete, update
from sqlalchemy.orm import Session, sessionmaker

from microdrama.db import session_scope, utcnow
from microdrama.ops.models import WorkerHeartbeat

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0
# A worker not heard from for this long counts as gone (three missed beats).
ALIVE_WITHIN = timedelta(seconds=3 * HEARTBEAT_SECONDS)
# Rows of workers gone this long are deleted by the next beat of any worker.
FORGET_AFTER = timedelta(days=1)


def beat(*, db: Session, worker_id: str, queue: str) -> None:
    """Say this worker is alive now (its row made on the first beat)."""
    now = utcnow()
    renewed = db.execute(
        update(WorkerHeartbeat)
        .where(WorkerHeartbeat.worker_id == worker_id)
        .values(last_seen_at=now)
    )
    if not renewed.rowcount:  # type: ignore[attr-defined]
        db.add(WorkerHeartbeat(worker_id=worker_id, queue=queue, started_at=now, last_seen_at=now))
    db.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.last_seen_at < now - FORGET_AFTER))


class Heartbeat:
    """`with Heartbeat(...)`: beats while the block runs, and removes the row after it."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        worker_id: str,
        queue: str,
        interval_s: float = HEARTBEAT_SECONDS,
    ) -> None:
        self.sessions = sessions
        self.worker_id = worker_id
        self.queue = queue
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="worker-heartbeat", daemon=True)

    def _beat(self) -> None:
        try:
            with session_scope(self.sessions) as db:
                beat(db=db, worker_id=self.worker_id, queue=self.queue)
        except Exception:  # the database is away: the next beat tries again
            log.warning("heartbeat of worker %s failed", self.worker_id, exc_info=True)

    def _run(self) -> None:
        while True:
            self._beat()
            if self._stop.wait(self.interval_s):
                return

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        try:
            with session_scope(self.sessions) as db:
                db.execute(
                    delete(WorkerHeartbeat).where(WorkerHeartbeat.worker_id == self.worker_id)
                )
        except Exception:
            log.warning("could not remove the heartbeat of worker %s", self.worker_id)

    def __enter__(self) -> Heartbeat:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
