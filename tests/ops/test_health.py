"""/healthz says the process is up; /readyz says whether it can serve: the database answers, its
schema is at the newest migration, storage takes a write; otherwise a 503 naming what failed."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from microdrama.app import create_app
from microdrama.config import Settings


def test_healthz_answers_without_asking_anything_else(client: TestClient) -> None:
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_readyz_is_ready_on_a_migrated_database_with_writable_storage(
    client: TestClient, settings: Settings
) -> None:
    answer = client.get("/readyz")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "ready" and body["failed"] == []
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True,
        "migrations": True,
        "storage": True,
    }
    # The probe leaves nothing behind in the media folder.
    assert not [p for p in (settings.media_dir / "ops").rglob("*") if p.is_file()]


def test_readyz_names_a_schema_behind_the_newest_migration(
    client: TestClient, engine: Engine
) -> None:
    with engine.begin() as conn:
        current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        conn.execute(text("UPDATE alembic_version SET version_num = 'a0000000old'"))
    try:
        answer = client.get("/readyz")
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": current})
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "not_ready" and body["failed"] == ["migrations"]
    assert "a0000000old" in body["checks"]["migrations"]["detail"]
    assert "microdrama migrate" in body["checks"]["migrations"]["detail"]


def test_readyz_names_storage_that_takes_no_write(client: TestClient, settings: Settings) -> None:
    # A file where the probe's folder should be: every write below it fails, as on a full or
    # read-only disk (permissions would not stop the root user the tests may run as).
    (settings.media_dir / "ops").write_text("in the way")
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["failed"] == ["storage"]
    assert answer.json()["checks"]["storage"]["detail"].startswith("not writable")


def test_readyz_names_an_unreachable_database(tmp_path: Path) -> None:
    settings = Settings(
        environment="test",
        data_dir=tmp_path / "data",
        # Nothing listens on port 1: the connection is refused at once.
        database_url="postgresql+psycopg://postgres@127.0.0.1:1/nothing",
        embedded_worker=False,
    )
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 200
        answer = client.get("/readyz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["failed"] == ["database", "migrations"]
    assert body["checks"]["database"]["detail"].startswith("not reachable")
    assert body["checks"]["storage"]["ok"] is True
