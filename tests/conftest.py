"""Test fixtures: a real database (SQLite always, PostgreSQL when configured) built by Alembic.

MICRODRAMA_TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) adds
PostgreSQL: every database test then runs on both backends. Each run works in a schema of its
own, created and dropped here, so the server's other data is never touched. An unreachable
server is an error, not a skip.
"""

from __future__ import annotations

import gc
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from microdrama.admin.service import forget_cached_settings
from microdrama.app import create_app
from microdrama.config import Settings, get_settings
from microdrama.db import make_engine, make_sessionmaker, upgrade_database
from microdrama.payouts.vip_share import forget_final_months
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.database import PG_URL, _empty_all_tables, _pg_schema_url

BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]


def pytest_collection_finish(session: pytest.Session) -> None:
    """What the test process imported (the app, its libraries: about 500,000 objects) is put
    out of the garbage collector's reach: its full collections, 0.3-0.6 s each otherwise,
    then walk only what the tests made."""
    gc.collect()
    gc.freeze()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium per test process, shared by every browser test: a second
    sync_playwright() would find the first one's event loop running and refuse."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is needed for browser tests: install it at {CHROMIUM}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class _Databases:
    """A migrated database of each backend, made on first use and kept for the whole session.

    `database_url` is parametrized per backend, and with a test file per process (xdist's
    loadfile) each file switches backends: pytest then tears the parametrized fixture down and
    sets it up again for every file. Kept here, that is a lookup instead of a new database and
    its migrations (0.4 s on SQLite, 0.9 s on PostgreSQL, twice per file)."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self.tmp_path_factory = tmp_path_factory
        self.urls: dict[str, str] = {}
        self.schemas: list[str] = []

    def url(self, backend: str) -> str:
        if backend not in self.urls:
            self.urls[backend] = self._create(backend)
        return self.urls[backend]

    def _create(self, backend: str) -> str:
        if backend == "sqlite":
            url = f"sqlite:///{self.tmp_path_factory.mktemp('sqlite') / 'microdrama.db'}"
        else:
            schema = f"md_test_{uuid.uuid4().hex[:12]}"
            admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:  # fails loudly when the server is not there
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            admin.dispose()
            self.schemas.append(schema)
            url = _pg_schema_url(PG_URL, schema)
        engine = make_engine(url)
        upgrade_database(engine)
        engine.dispose()
        return url

    def drop(self) -> None:
        if not self.schemas:
            return
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for schema in self.schemas:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Databases]:
    made = _Databases(tmp_path_factory)
    try:
        yield made
    finally:
        made.drop()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, databases: _Databases) -> str:
    """A migrated database of each configured backend (emptied by `engine` before a test)."""
    return databases.url(request.param)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The test's engine, on a database emptied before the test."""
    engine = make_engine(database_url)
    _empty_all_tables(engine)
    forget_cached_settings()
    forget_final_months()
    yield engine
    engine.dispose()


@pytest.fixture
def db_factory(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture
def db(db_factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session for arranging and checking data directly (commit what the app must see)."""
    with db_factory() as session:
        yield session


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """Settings for a small, fast instance: one small rung (tests/media sets the ladder it
    tests), ultrafast x264, short job leases."""
    return Settings(
        environment="test",
        data_dir=tmp_path / "data",
        database_url=database_url,
        embedded_worker=False,
        ladder_heights=[320],
        x264_preset="ultrafast",
        job_lease_seconds=3,
        worker_poll_seconds=0.2,
        expose_test_hooks=True,
    )


@pytest.fixture
def app(settings: Settings, engine: Engine) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str, engine: object) -> Iterator[None]:
    """The `microdrama` command's settings come from the environment: point it at the test's
    (migrated) database for the test's duration."""
    monkeypatch.setenv("MICRODRAMA_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
