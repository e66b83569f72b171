"""An operator backs an install up and restores it into an empty one: the books, the viewer's
coins and unlock, and the encrypted episode all come back; damaged or unsuitable backups are
refused with nothing changed."""

from __future__ import annotations

import json
import shutil
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, inspect, select, text
from typer.testing import CliRunner, Result

import microdrama
from microdrama.accounts import service as accounts_service
from microdrama.accounts.models import Account
from microdrama.app import create_app
from microdrama.catalog import service as catalog_service
from microdrama.catalog import videos
from microdrama.catalog.models import Episode, Series
from microdrama.cli import app as cli
from microdrama.config import Settings, get_settings
from microdrama.db import (
    _alembic_config,
    begin_immediate,
    make_engine,
    make_sessionmaker,
    schema_is_current,
    session_scope,
    upgrade_database,
)
from microdrama.media import jobs
from microdrama.storage import LocalStorage
from tests.support.accounts import log_in, sign_up
from tests.support.clips import cached_clip
from tests.support.database import PG_URL, _pg_schema_url
from tests.support.factories import make_creator
from tests.support.hls import decodes_cleanly, decrypt_with_ffmpeg
from tests.support.paywall import key_url_in, variant_url
from tests.support.s3 import s3_server
from tests.support.wallet import top_up

pytestmark = pytest.mark.slow

BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]
VIEWER = "mia@example.com"
PRICE_COINS = 90


@dataclass
class Install:
    """A microdrama install: a data folder and a database (empty URL: its embedded SQLite)."""

    data_dir: Path
    database_url: str = ""
    # More settings, by field name (the media in a bucket, say).
    more: dict[str, str] = field(default_factory=dict)

    def settings(self) -> Settings:
        return Settings(
            **self.more,  # type: ignore[arg-type]
            environment="test",
            data_dir=self.data_dir,
            database_url=self.database_url,
            embedded_worker=False,
            embedded_ai_worker=False,
            ladder_heights=[320],
            x264_preset="ultrafast",
        )

    def run(self, *args: str) -> Result:
        """`microdrama ARGS` with this install's settings, as an operator runs it."""
        with pytest.MonkeyPatch.context() as env:
            env.setenv("MICRODRAMA_ENVIRONMENT", "test")
            env.setenv("MICRODRAMA_DATA_DIR", str(self.data_dir))
            env.setenv("MICRODRAMA_DATABASE_URL", self.database_url)
            for name, value in self.more.items():
                env.setenv(f"MICRODRAMA_{name.upper()}", value)
            get_settings.cache_clear()
            try:
                return CliRunner().invoke(cli, list(args))
            finally:
                get_settings.cache_clear()

    def count(self, table: type[Account] | type[Series]) -> int:
        """Rows of a table (0 when the database has no such table yet)."""
        engine = make_engine(self.settings().effective_database_url)
        try:
            with engine.connect() as connection:
                if not inspect(connection).has_table(table.__tablename__):
                    return 0
                return connection.scalar(select(func.count()).select_from(table)) or 0
        finally:
            engine.dispose()


class Installs:
    """New, empty installs of one backend, one at a time. On PostgreSQL they all use one schema
    (a backup is restored into the schema it was taken from), dropped and made again for each
    new install, as after a lost database: much cheaper than a database each."""

    def __init__(self, backend: str, root: Path) -> None:
        self.backend = backend
        self.root = root
        self.schema = f"md_backup_{uuid.uuid4().hex[:12]}"
        self.admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT") if PG_URL else None

    def new(self, name: str) -> Install:
        data_dir = self.root / f"{name}-{uuid.uuid4().hex[:6]}"
        if self.backend == "sqlite":
            return Install(data_dir)
        assert self.admin is not None
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
        return Install(data_dir, _pg_schema_url(PG_URL, self.schema))

    def drop_all(self) -> None:
        if self.admin is not None:
            with self.admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
            self.admin.dispose()


@dataclass
class Backup:
    """A backed-up install: what a restored one must show again."""

    folder: Path
    series_id: int
    episode_id: int
    aes_key: bytes
    segments: dict[str, bytes]  # storage key -> bytes
    wallet: dict[str, int]


@pytest.fixture(scope="module", params=BACKENDS)
def installs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Installs]:
    made = Installs(request.param, tmp_path_factory.mktemp(f"installs-{request.param}"))
    try:
        yield made
    finally:
        made.drop_all()


@pytest.fixture(scope="module")
def backup(installs: Installs, tmp_path_factory: pytest.TempPathFactory) -> Backup:
    """An install with a paid episode (really transcoded, encrypted) and a viewer who bought
    coins and unlocked it, backed up with `microdrama backup`."""
    source = installs.new("source")
    settings = source.settings()
    engine = make_engine(settings.effective_database_url)
    upgrade_database(engine)
    factory = make_sessionmaker(engine)
    storage = LocalStorage(settings.media_dir)
    with session_scope(factory) as db:
        owner = make_creator(db)
        series = Series(
            title="The Heiress Returns",
            owner_id=owner.id,
            free_episodes=0,
            episode_price_coins=PRICE_COINS,
        )
        db.add(series)
        db.flush()
        clip = cached_clip(seconds=2, label="E1")
        episode, _asset, _job = videos.upload_episode(
            db=db,
            storage=storage,
            settings=settings,
            series=series,
            owner=owner,
            filename=clip.name,
            source=clip,
        )
        series_id, episode_id = series.id, episode.id
    worker = jobs.Worker(sessions=factory, storage=storage, settings=settings)
    while worker.run_next_job(worker_id="backup-tests", stop=threading.Event()):
        pass
    with session_scope(factory) as db:
        found = db.get(Series, series_id)
        assert found is not None
        catalog_service.publish(db=db, series=found)
        ready = db.get(Episode, episode_id)
        assert ready is not None and ready.media_asset is not None
        assert ready.media_asset.aes_key is not None
        aes_key = ready.media_asset.aes_key
        hls_prefix = ready.media_asset.master_playlist_key.rsplit("/", 1)[0]  # type: ignore[union-attr]
    app = create_app(settings)
    with TestClient(app) as viewer:
        sign_up(viewer, VIEWER)
        viewer_id = viewer.get("/api/me").json()["id"]
        top_up(factory, settings, viewer_id, coins=500, bonus_coins=50, amount_cents=499)
        unlocked = viewer.post(
            f"/api/episodes/{episode_id}/unlock",
            json={"method": "coins"},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert unlocked.status_code == 200, unlocked.text
        wallet = viewer.get("/api/wallet").json()
    engine.dispose()
    segments = {
        item.key: storage.read_bytes(item.key)
        for item in storage.list_keys(hls_prefix)
        if item.key.endswith(".ts")
    }
    assert segments and wallet["total_coins"] == 550 - PRICE_COINS

    folder = tmp_path_factory.mktemp("backups") / "nightly"
    made = source.run("backup", str(folder))

    assert made.exit_code == 0, made.output
    assert f"backup written to {folder}" in made.output
    # It holds the install's secrets: for its owner's eyes only.
    assert folder.stat().st_mode & 0o777 == 0o700
    assert (folder / "data" / "secrets.json").stat().st_mode & 0o777 == 0o600
    return Backup(folder, series_id, episode_id, aes_key, segments, wallet)


def a_copy(backup: Backup, tmp_path: Path) -> Path:
    """A private copy of the module's backup, for a test that changes it."""
    return Path(shutil.copytree(backup.folder, tmp_path / "copy"))


def test_a_backup_restored_into_an_empty_install_keeps_the_books_and_plays_the_paid_episode(
    backup: Backup, installs: Installs, tmp_path: Path
) -> None:
    target = installs.new("restored")

    restored = target.run("restore", str(backup.folder))

    assert restored.exit_code == 0, restored.output
    assert "restored the backup of" in restored.output
    manifest = json.loads((backup.folder / "manifest.json").read_text())
    assert manifest["format_version"] == 1 and manifest["app_version"] == microdrama.__version__
    assert manifest["alembic_revision"] in restored.output
    assert {f"media/{item['key']}" for item in manifest["media"]} >= {
        f"media/{key}" for key in backup.segments
    }
    # The same secrets (they sign the key tokens and sessions), kept owner-only.
    secrets = target.data_dir / "secrets.json"
    assert secrets.read_bytes() == (backup.folder / "data" / "secrets.json").read_bytes()
    assert secrets.stat().st_mode & 0o777 == 0o600
    verified = target.run("ledger", "verify")
    assert verified.exit_code == 0, verified.output
    assert "ledger verified" in verified.output

    with TestClient(create_app(target.settings())) as viewer:
        # The viewer signs in with the same password and finds their coins and their unlock.
        assert log_in(viewer, VIEWER) == 200
        assert viewer.get("/api/wallet").json() == backup.wallet
        playlist = viewer.get(variant_url(viewer, backup.episode_id))
        assert playlist.status_code == 200, playlist.text
        key = viewer.get(key_url_in(playlist.text))
        assert key.status_code == 200, key.text
        assert key.content == backup.aes_key
        segment_urls = [
            line for line in playlist.text.splitlines() if line and not line.startswith("#")
        ]
        segments_dir = tmp_path / "segments"
        segments_dir.mkdir()
        for url in segment_urls:
            segment = viewer.get(url)
            assert segment.status_code == 200
            assert segment.content == backup.segments[url.removeprefix("/media/").split("?")[0]]
            (segments_dir / Path(url).name).write_bytes(segment.content)

    played = decrypt_with_ffmpeg(
        playlist=playlist.text,
        key=key.content,
        segments_dir=segments_dir,
        work_dir=tmp_path / "player",
        segments=len(segment_urls),
    )
    assert decodes_cleanly(played)


def test_a_damaged_backup_is_refused_and_nothing_is_restored(
    backup: Backup, installs: Installs, tmp_path: Path
) -> None:
    damaged = a_copy(backup, tmp_path)
    segment_key = next(iter(backup.segments))
    segment = damaged / "media" / segment_key
    data = bytearray(segment.read_bytes())
    data[len(data) // 2] ^= 0xFF
    segment.write_bytes(bytes(data))
    target = installs.new("target")

    refused = target.run("restore", str(damaged))

    assert refused.exit_code == 1
    assert "damaged; nothing was restored" in refused.output
    assert f"media/{segment_key}: checksum differs from the manifest" in refused.output
    assert "Traceback" not in refused.output
    assert not list(LocalStorage(target.data_dir / "media").list_keys())
    assert target.count(Account) == 0


def test_a_restore_into_a_database_with_data_needs_force(
    backup: Backup, installs: Installs
) -> None:
    target = installs.new("busy")
    assert target.run("restore", str(backup.folder)).exit_code == 0

    again = target.run("restore", str(backup.folder))
    assert again.exit_code == 1
    assert "is not empty" in again.output and "--force" in again.output

    forced = target.run("restore", "--force", str(backup.folder))
    assert forced.exit_code == 0, forced.output
    assert target.count(Series) == 1
    assert target.run("ledger", "verify").exit_code == 0


def test_a_backup_from_a_newer_schema_is_refused(
    backup: Backup, installs: Installs, tmp_path: Path
) -> None:
    newer = a_copy(backup, tmp_path)
    manifest = json.loads((newer / "manifest.json").read_text())
    manifest["alembic_revision"] = "f00dfeedbeef"
    manifest["app_version"] = "9.0.0"
    (newer / "manifest.json").write_text(json.dumps(manifest))
    target = installs.new("older-app")

    refused = target.run("restore", str(newer))

    assert refused.exit_code == 1
    assert "newer than this microdrama" in refused.output
    assert "9.0.0" in refused.output


def test_a_backup_of_an_older_schema_is_migrated_to_the_newest_after_restoring(
    installs: Installs, tmp_path: Path
) -> None:
    old = installs.new("old")
    engine = make_engine(old.settings().effective_database_url)
    config = _alembic_config()
    with engine.begin() as connection:
        begin_immediate(connection)
        config.attributes["connection"] = connection
        command.upgrade(config, "head-1")
    engine.dispose()
    assert old.run("backup", str(tmp_path / "old-backup")).exit_code == 0
    target = installs.new("new")

    restored = target.run("restore", str(tmp_path / "old-backup"))

    assert restored.exit_code == 0, restored.output
    assert "schema migrated from" in restored.output
    engine = make_engine(target.settings().effective_database_url)
    try:
        assert schema_is_current(engine)
    finally:
        engine.dispose()


def test_media_kept_in_object_storage_are_restored_into_a_bucket_and_backed_up_from_it(
    backup: Backup, installs: Installs, tmp_path: Path
) -> None:
    with s3_server() as s3:
        bucket = s3.new_bucket()
        target = installs.new("bucket")
        target.more = {k: str(v) for k, v in s3.settings(bucket).items()}

        restored = target.run("restore", str(backup.folder))
        again = target.run("backup", str(tmp_path / "from-the-bucket"))

        assert restored.exit_code == 0, restored.output
        assert again.exit_code == 0, again.output
        original = json.loads((backup.folder / "manifest.json").read_text())["media"]
        assert s3.keys(bucket) == sorted(f"media/{item['key']}" for item in original)
    copied = json.loads((tmp_path / "from-the-bucket" / "manifest.json").read_text())["media"]
    assert copied == original


def test_a_backup_taken_while_viewers_buy_coins_restores_books_that_balance(
    backup: Backup, installs: Installs, tmp_path: Path
) -> None:
    live = installs.new("live")
    assert live.run("restore", str(backup.folder)).exit_code == 0
    settings = live.settings()
    engine = make_engine(settings.effective_database_url)
    factory = make_sessionmaker(engine)
    with factory() as db:
        viewer = accounts_service.get_by_email(db=db, email=VIEWER)
        assert viewer is not None
    stop, bought = threading.Event(), []

    def buy_coins() -> None:
        while not stop.is_set():
            bought.append(top_up(factory, settings, viewer.id, coins=10, amount_cents=10))

    buyer = threading.Thread(target=buy_coins)
    buyer.start()
    try:
        while not bought:  # the app is busy before the backup starts
            stop.wait(0.01)
        made = live.run("backup", str(tmp_path / "hot"))
        during = len(bought)
    finally:
        stop.set()
        buyer.join()
        engine.dispose()
    assert made.exit_code == 0, made.output
    assert len(bought) > 1 and during >= 1
    target = installs.new("copy")

    assert target.run("restore", str(tmp_path / "hot")).exit_code == 0
    verified = target.run("ledger", "verify")
    assert verified.exit_code == 0, verified.output
