"""Readiness: the database answers, its schema is at the newest migration, storage takes a write.

A load balancer asks every few seconds: the migration scripts' head is read once per process
(it changes only with a deploy, which restarts the process), and the storage probe (a write, a
read and a delete: three requests to a bucket) is kept a few seconds.
"""

from __future__ import annotations

import io
import os
import socket
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import text
from sqlalchemy.orm import Session

from microdrama.storage import Storage

STORAGE_PROBE_TTL_S = 5.0


@dataclass(frozen=True)
class Check:
    ok: bool
    detail: str


@lru_cache(maxsize=1)
def migration_heads() -> frozenset[str]:
    """The newest revision(s) of the migration scripts shipped with this code."""
    from alembic.script import ScriptDirectory

    from microdrama.db import _alembic_config

    return frozenset(ScriptDirectory.from_config(_alembic_config()).get_heads())


def check_database(db: Session) -> Check:
    try:
        db.execute(text("SELECT 1"))
    except Exception as exc:  # whatever the driver says: the database is not reachable
        return Check(
            False, f"not reachable: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        )
    return Check(True, db.get_bind().dialect.name)


def check_migrations(db: Session) -> Check:
    from alembic.runtime.migration import MigrationContext

    try:
        current = set(MigrationContext.configure(db.connection()).get_current_heads())
    except Exception as exc:
        return Check(False, f"could not read the schema's revision: {type(exc).__name__}")
    heads = migration_heads()
    if current == heads:
        return Check(True, f"at {', '.join(sorted(heads))}")
    have = ", ".join(sorted(current)) or "none"
    return Check(
        False, f"at {have}, newest is {', '.join(sorted(heads))}: run `microdrama migrate`"
    )


class StorageProbe:
    """Writes, reads back and deletes a small object; the outcome is kept STORAGE_PROBE_TTL_S."""

    def __init__(self, ttl_s: float = STORAGE_PROBE_TTL_S) -> None:
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._last: tuple[float, Check] | None = None
        self.key = f"ops/readiness/{socket.gethostname()}-{os.getpid()}"

    def check(self, storage: Storage) -> Check:
        with self._lock:
            if self._last is not None and time.monotonic() - self._last[0] < self.ttl_s:
                return self._last[1]
            outcome = self._probe(storage)
            self._last = (time.monotonic(), outcome)
            return outcome

    def _probe(self, storage: Storage) -> Check:
        payload = f"ready {time.time()}".encode()
        try:
            storage.save(self.key, io.BytesIO(payload))
            if storage.read_bytes(self.key) != payload:
                return Check(False, "an object written could not be read back")
            storage.delete_prefix(self.key)
        except Exception as exc:  # a full disk, a read-only folder, a bucket refusing us
            return Check(False, f"not writable: {type(exc).__name__}: {str(exc)[:200]}")
        return Check(True, "writable")


def readiness(*, db: Session, storage: Storage, probe: StorageProbe) -> dict[str, Check]:
    database = check_database(db)
    if database.ok:
        migrations = check_migrations(db)
    else:
        migrations = Check(False, "unknown: the database is not reachable")
    return {"database": database, "migrations": migrations, "storage": probe.check(storage)}
