"""Back up an install into a new folder, and restore one into an empty install.

A backup folder holds the database (database/), every object of the media storage
(media/<key>), the data folder's generated secrets (data/) and manifest.json, written last,
with the size and SHA-256 of every file, the format, the app version, the Alembic revision and
the time. A restore checks all of it before it changes anything, then writes the media, the
secrets and finally the database (one transaction), and migrates it to the newest revision.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import URL, make_url

import microdrama
from microdrama.backup import postgres, sqlite
from microdrama.backup.manifest import (
    DATA_FOLDER,
    FORMAT_VERSION,
    BackupError,
    DatabaseCopy,
    Manifest,
    MediaObject,
    copy_hashing,
    damaged_files,
    file_chunks,
    inside,
    media_path,
    stored_file,
)
from microdrama.config import Settings
from microdrama.db import _alembic_config, make_engine, upgrade_database
from microdrama.instance_secrets import OWNER_ONLY, SECRETS_FILE_NAME
from microdrama.storage import Storage

DATABASE_FILES = {
    "sqlite": "database/microdrama.sqlite3",
    "postgresql": "database/microdrama.pgdump",
}
# Files of the data folder a restored install needs: its generated secrets (they sign key
# tokens, sessions and webhooks) and the demo's passwords. The rest (models, caches, unfinished
# uploads) is rebuilt or abandoned.
DATA_FILES = (SECRETS_FILE_NAME, "demo-logins.json")
# A database is "not empty" when one of these has a row: people, shows, videos or money.
DATA_TABLES = ("accounts", "series", "media_assets", "ledger_transactions", "purchases", "orders")
SHOWN_PROBLEMS = 20


@dataclass(frozen=True)
class BackupResult:
    folder: Path
    manifest: Manifest
    # Objects listed by the storage but deleted before they could be copied.
    vanished: int


@dataclass(frozen=True)
class RestoreResult:
    manifest: Manifest
    database: str  # where it went, without the password
    migrated_to: str | None  # the newest revision, when the backup's was older


def make_backup(
    *, settings: Settings, storage: Storage, folder: Path, now: datetime
) -> BackupResult:
    """Write a backup of the install into folder (new, or empty); nothing is left in place of
    a backup that failed."""
    folder = folder.absolute()
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise BackupError(
            f"{folder} already exists and is not empty: give each backup a new folder"
        )
    folder.parent.mkdir(parents=True, exist_ok=True)
    # Made beside the target (mode 0700: it holds secrets) and renamed when complete.
    work = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".partial", dir=folder.parent))
    try:
        database, revision = _database_out(settings, work)
        data_files = {}
        for name in DATA_FILES:
            source = settings.data_dir / name
            if source.is_file():
                with source.open("rb") as file:
                    copy_hashing(file_chunks(file), work / DATA_FOLDER / name, mode=OWNER_ONLY)
                data_files[name] = stored_file(work, work / DATA_FOLDER / name)
        media, vanished = _media_out(storage, work)
        manifest = Manifest(
            format_version=FORMAT_VERSION,
            app_version=microdrama.__version__,
            alembic_revision=revision,
            created_at=now.isoformat(),
            database=database,
            data_files=data_files,
            media=media,
        )
        manifest.write(work)
        work.rename(folder)  # replaces an empty folder
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return BackupResult(folder, manifest, vanished)


def _database_out(settings: Settings, work: Path) -> tuple[DatabaseCopy, str]:
    url = make_url(settings.effective_database_url)
    backend = _backend(url)
    target = work / DATABASE_FILES[backend]
    if backend == "sqlite":
        revision = sqlite.copy_out(sqlite.database_file(url), target)
        return DatabaseCopy(backend="sqlite", file=stored_file(work, target)), revision
    engine = make_engine(settings.effective_database_url)
    try:
        revision = _current_revision(engine)
        facts = postgres.describe(engine)
    finally:
        engine.dispose()
    postgres.dump(url, facts.schema, target)
    copy = DatabaseCopy(
        backend="postgresql",
        file=stored_file(work, target),
        schema_name=facts.schema,
        extensions=facts.extensions,
    )
    return copy, revision


def _media_out(storage: Storage, work: Path) -> tuple[list[MediaObject], int]:
    media, vanished = [], 0
    for listed in storage.list_keys():
        try:
            stored = storage.open_object(listed.key)
        except FileNotFoundError:  # deleted since the listing (a video removed meanwhile)
            vanished += 1
            continue
        try:
            digest = copy_hashing(stored.chunks, media_path(work, listed.key))
        finally:
            stored.close()
        media.append(MediaObject(key=listed.key, size=digest.size, sha256=digest.sha256))
    media.sort(key=lambda item: item.key)  # the same backup lists the same way on every store
    return media, vanished


def restore_backup(
    *, settings: Settings, storage: Storage, folder: Path, force: bool = False
) -> RestoreResult:
    """Restore the backup in folder into this install's database, storage and data folder.

    Refused, with nothing changed: a damaged or incomplete backup, one from a newer schema or
    another database backend, and (unless force) a database that already holds data."""
    manifest = Manifest.read(folder)
    script = ScriptDirectory.from_config(_alembic_config())
    _check_backup(manifest, script)
    url = make_url(settings.effective_database_url)
    backend = _backend(url)
    if backend != manifest.database.backend:
        raise BackupError(
            f"the backup holds a {manifest.database.backend} database and this install uses "
            f"{backend}: restore it into an install on {manifest.database.backend}"
        )
    where = url.render_as_string(hide_password=True)
    engine = make_engine(settings.effective_database_url)
    try:
        plan = _check_target(engine, url, manifest, force=force)
        problems = damaged_files(folder, manifest.all_files())
        if problems:
            more = len(problems) - SHOWN_PROBLEMS
            raise BackupError(
                f"the backup in {folder} is damaged; nothing was restored:\n  "
                + "\n  ".join(problems[:SHOWN_PROBLEMS])
                + (f"\n  ... and {more} more" if more > 0 else "")
            )
        # The database last: until it is in, the install holds no data naming the media.
        for item in manifest.media:
            with media_path(folder, item.key).open("rb") as file:
                storage.save(item.key, file)
        for name, stored in manifest.data_files.items():
            _write_private(inside(folder, stored.path), settings.data_dir / name)
        archive = inside(folder, manifest.database.file.path)
        if plan is None:
            engine.dispose()
            sqlite.copy_in(archive, sqlite.database_file(url))
        else:
            postgres.restore(plan, archive=archive, extensions=manifest.database.extensions)
        head = script.get_current_head()
        migrated_to = None
        if manifest.alembic_revision != head:
            upgrade_database(engine)
            migrated_to = head
    finally:
        engine.dispose()
    return RestoreResult(manifest, where, migrated_to)


def _check_backup(manifest: Manifest, script: ScriptDirectory) -> None:
    """Refuse a backup this microdrama cannot restore."""
    if not any(known.revision == manifest.alembic_revision for known in script.walk_revisions()):
        raise BackupError(
            f"the backup's schema (revision {manifest.alembic_revision}, microdrama "
            f"{manifest.app_version}) is newer than this microdrama ({microdrama.__version__}) "
            "knows: restore it with the version that made it, or a newer one"
        )
    unknown = sorted(set(manifest.data_files) - set(DATA_FILES))
    if unknown:
        raise BackupError(f"the backup names data files this microdrama does not know: {unknown}")


def _check_target(
    engine: Engine, url: URL, manifest: Manifest, *, force: bool
) -> postgres.RestorePlan | None:
    """Refuse a database that holds data (unless force); on PostgreSQL, the plan of the
    restore (the programs found, the schema checked, what it holds to drop)."""
    if not force:
        filled = _tables_with_rows(engine)
        if filled:
            shown = ", ".join(filled[:5]) + (", ..." if len(filled) > 5 else "")
            raise BackupError(
                f"the database at {url.render_as_string(hide_password=True)} is not empty "
                f"({shown} hold rows): restore into a new, empty database, or pass --force to "
                "replace what it holds"
            )
    if manifest.database.backend == "sqlite":
        return None
    assert manifest.database.schema_name is not None
    return postgres.plan_restore(engine=engine, url=url, schema=manifest.database.schema_name)


def _backend(url: URL) -> str:
    backend = url.get_backend_name()
    if backend not in DATABASE_FILES:
        raise BackupError(f"cannot back up or restore a {backend} database")
    return backend


def _current_revision(engine: Engine) -> str:
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            raise BackupError("the database holds no microdrama schema: nothing to back up")
        rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    if len(rows) != 1:
        raise BackupError("the database holds no microdrama schema (no single Alembic revision)")
    return str(rows[0][0])


def _tables_with_rows(engine: Engine) -> list[str]:
    """Which of the tables that hold an install's data have rows (an empty or freshly migrated
    database has none; migrations and startup fill only bookkeeping tables)."""
    with engine.connect() as connection:
        existing = set(inspect(connection).get_table_names())
        quote = engine.dialect.identifier_preparer.quote
        return [
            name
            for name in DATA_TABLES
            if name in existing
            and connection.execute(text(f"SELECT 1 FROM {quote(name)} LIMIT 1")).first()
        ]


def _write_private(source: Path, target: Path) -> None:
    """Copy a secret file into place whole, owner-only from the start."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.restore")
    temporary.unlink(missing_ok=True)
    with source.open("rb") as file:
        copy_hashing(file_chunks(file), temporary, mode=OWNER_ONLY)
    temporary.replace(target)
