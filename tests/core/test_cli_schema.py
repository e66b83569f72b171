"""Commands on a database without the schema: migrated (SQLite) or told to migrate, no traceback."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from microdrama.cli import app
from microdrama.config import get_settings
from tests.support.database import PG_URL, _pg_schema_url


@pytest.fixture
def fresh_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A new, empty data folder with the embedded SQLite default (no database URL)."""
    data_dir = tmp_path / "new-data"
    monkeypatch.setenv("MICRODRAMA_DATA_DIR", str(data_dir))
    monkeypatch.delenv("MICRODRAMA_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield data_dir
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("command", "says"),
    [
        (["ledger", "verify"], "ledger verified"),
        (["ledger", "expire-bonus"], "0 bonus coins expired"),
        (["housekeeping"], "0 bonus coins expired"),
        (["payments", "seed-catalog"], "coin pack"),
        (["payments", "renew-vip"], "0 VIP renewals"),
        (["vip-share", "settle", "--month", "2026-01"], "VIP share of 2026-01"),
        (["create-admin", "owner@example.com", "--password", "a long passphrase"], "admin"),
    ],
)
def test_a_command_on_a_new_data_folder_creates_the_schema_and_does_its_job(
    fresh_data_dir: Path, command: list[str], says: str
) -> None:
    result = CliRunner().invoke(app, command)

    assert result.exception is None, result.output
    assert result.exit_code == 0
    assert says in result.output
    assert (fresh_data_dir / "microdrama.db").exists()


@pytest.mark.skipif(not PG_URL, reason="needs MICRODRAMA_TEST_DATABASE_URL (PostgreSQL)")
def test_a_command_on_an_empty_postgresql_database_says_to_run_migrate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = f"md_empty_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    monkeypatch.setenv("MICRODRAMA_DATABASE_URL", _pg_schema_url(PG_URL, schema))
    monkeypatch.setenv("MICRODRAMA_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["ledger", "verify"])
    finally:
        get_settings.cache_clear()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    assert result.exit_code == 1
    assert "run `microdrama migrate` first" in result.output
    assert "Traceback" not in result.output
