"""The embedded SQLite database, copied page by page with SQLite's online backup API.

The copy is one consistent snapshot taken inside a read transaction: in WAL mode writers go on
meanwhile, so a backup of a running install is safe. Restoring copies the pages into the
target the same way, in one write transaction: the target is either replaced whole or left as
it was.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import URL

from microdrama.backup.manifest import BackupError


def database_file(url: URL) -> Path:
    """The file behind an SQLite URL (an in-memory database has nothing to back up)."""
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise BackupError(f"cannot back up the SQLite database {url.database or ':memory:'!r}")
    return Path(url.database)


def copy_out(database: Path, target: Path) -> str:
    """Copy the live database into target (a new file); returns its Alembic revision."""
    if not database.is_file():
        raise BackupError(f"there is no database at {database}: nothing to back up")
    target.parent.mkdir(parents=True, exist_ok=True)
    with (
        closing(sqlite3.connect(database, timeout=30)) as source,
        closing(sqlite3.connect(target)) as copy,
    ):
        source.backup(copy)  # all pages in one step: one snapshot
        # One self-contained file (the live database is in WAL mode, and so its copy).
        copy.execute("PRAGMA journal_mode=DELETE")
    return revision_of(target)


def revision_of(path: Path) -> str:
    """The Alembic revision stored in an SQLite file (BackupError when it has none)."""
    with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
        try:
            rows = db.execute("SELECT version_num FROM alembic_version").fetchall()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{path} holds no microdrama schema ({exc})") from exc
    if len(rows) != 1:
        raise BackupError(f"{path} holds no microdrama schema (no single Alembic revision)")
    return str(rows[0][0])


def copy_in(copy: Path, database: Path) -> None:
    """Replace the database's contents with the copy's, in one transaction."""
    database.parent.mkdir(parents=True, exist_ok=True)
    with (
        closing(sqlite3.connect(f"{copy.as_uri()}?mode=ro", uri=True)) as source,
        closing(sqlite3.connect(database, timeout=30)) as target,
    ):
        try:
            source.backup(target)
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"restoring the database into {database} failed: {exc}") from exc
