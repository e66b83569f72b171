"""The Alembic revisions build exactly the schema the models describe."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, text

import microdrama.models  # noqa: F401  (registers every table)
from microdrama.accounts.models import Account
from microdrama.analytics.models import PlaybackEvent
from microdrama.db import Base, make_engine, make_sessionmaker, upgrade_database
from microdrama.models import outside_the_models
from tests.support.database import PG_URL, _pg_schema_url
from tests.support.factories import make_series

ROOT = Path(__file__).resolve().parents[1]


def alembic_config() -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return config


@contextmanager
def fresh_database(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the same backend, without any revision applied."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'scratch.db'}"
        return
    schema = f"md_scratch_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _pg_schema_url(PG_URL, schema)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_migrations_match_the_models(engine: Engine) -> None:
    # The search index's tables are no ORM models; migrations/env.py leaves them out the same
    # way (test_the_search_index_is_all_that_is_left_out checks that nothing else is).
    opts = {"compare_type": True, "include_object": outside_the_models}
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts=opts)
        differences = compare_metadata(context, Base.metadata)

    assert differences == []


def test_the_search_index_is_all_that_is_left_out(engine: Engine) -> None:
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
    left_out = {t for t in tables if not outside_the_models(None, t, "table", True, None)}
    fts = "search_vocabulary_fts"
    fts_tables = {fts, *(f"{fts}_{shadow}" for shadow in ("data", "idx", "docsize", "config"))}
    on_sqlite = engine.dialect.name == "sqlite"
    index = {"search_documents", "search_terms", "search_vocabulary", "search_stale"}
    # PostgreSQL: the playback events' default partition and one partition per day.
    partitions = {t for t in left_out if t.startswith("playback_events_")}
    assert left_out == index | (fts_tables if on_sqlite else partitions)
    assert on_sqlite or ("playback_events_default" in partitions and len(partitions) > 8)
    assert tables - left_out == set(Base.metadata.tables)


def test_upgrading_a_database_that_has_data_keeps_it(
    database_url: str, tmp_path: Path, engine: Engine
) -> None:
    """Each revision applies on top of rows written by the one before (not just empty tables)."""
    with fresh_database(database_url, tmp_path) as url:
        scratch = make_engine(url)
        config = alembic_config()
        revisions = [
            r.revision for r in reversed(list(ScriptDirectory.from_config(config).walk_revisions()))
        ]
        for number, revision in enumerate(revisions, start=1):
            with scratch.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
            with scratch.begin() as connection:
                connection.execute(
                    text("INSERT INTO accounts (display_name, role, is_guest, created_at) "
                         "VALUES (:name, 'viewer', true, CURRENT_TIMESTAMP)"),
                    {"name": f"made at revision {number}"},
                )  # fmt: skip
        with scratch.connect() as connection:
            names = connection.execute(
                text("SELECT display_name FROM accounts ORDER BY id")
            ).scalars()
            assert list(names) == [f"made at revision {n}" for n in range(1, len(revisions) + 1)]
        scratch.dispose()


def test_a_migration_failing_half_way_leaves_no_half_schema(
    database_url: str, tmp_path: Path, engine: Engine
) -> None:
    with fresh_database(database_url, tmp_path) as url:
        scratch = make_engine(url)
        config = alembic_config()
        revisions = [
            r.revision for r in reversed(list(ScriptDirectory.from_config(config).walk_revisions()))
        ]
        with scratch.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revisions[0])
        # A table in the way of the second revision's last create_table makes it fail late.
        with scratch.begin() as connection:
            connection.execute(text("CREATE TABLE unlocks (id INTEGER PRIMARY KEY)"))

        with pytest.raises(Exception, match="unlocks"):
            upgrade_database(scratch)

        with scratch.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert "coin_packs" not in tables  # created earlier by the failed revision, rolled back
        assert version == revisions[0]
        scratch.dispose()


def test_partitioning_the_events_keeps_them_and_so_does_undoing_it(
    database_url: str, tmp_path: Path, engine: Engine
) -> None:
    """PostgreSQL: the events of several days are copied into their days' partitions with
    their ids, new ids follow on, and the downgrade brings back the one table, rows and all.
    SQLite: nothing changes."""
    with fresh_database(database_url, tmp_path) as url:
        scratch = make_engine(url)
        config = alembic_config()
        with scratch.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0b5e7a110002")
        with make_sessionmaker(scratch)() as db:
            series = make_series(db, episodes=1)
            viewer = Account(display_name="viewer")
            db.add(viewer)
            db.flush()
            days = [datetime(2026, 3, 1, 12, tzinfo=UTC), datetime(2026, 3, 4, 23, tzinfo=UTC)]
            for number, at in enumerate(days):
                db.add(
                    PlaybackEvent(
                        account_id=viewer.id, event_id=f"e{number}", kind="start",
                        series_id=series.id, episode_id=series.episodes[0].id, session_id="s",
                        position_ms=0, occurred_at=at, received_at=at,
                    )
                )  # fmt: skip
            db.commit()
        before = _events(scratch)

        upgrade_database(scratch)

        assert _events(scratch) == before
        partitioned = scratch.dialect.name == "postgresql"
        if partitioned:
            with scratch.connect() as connection:
                places = connection.execute(
                    text("SELECT tableoid::regclass::text FROM playback_events ORDER BY id")
                ).scalars()
                assert list(places) == ["playback_events_20260301", "playback_events_20260304"]
        with make_sessionmaker(scratch)() as db:
            later = datetime.now(UTC)
            db.add(
                PlaybackEvent(
                    account_id=viewer.id, event_id="new", kind="start", series_id=series.id,
                    episode_id=series.episodes[0].id, session_id="s", position_ms=0,
                    occurred_at=later, received_at=later,
                )
            )  # fmt: skip
            db.commit()
        after = _events(scratch)
        assert after[-1][0] > before[-1][0]

        with scratch.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0b5e7a110002")

        assert _events(scratch) == after
        with scratch.connect() as connection:
            names = set(inspect(connection).get_table_names())
        assert not {name for name in names if name.startswith("playback_events_")}
        scratch.dispose()


def _events(engine: Engine) -> list[tuple[int, str, datetime]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id, event_id, occurred_at FROM playback_events ORDER BY id")
        )
        return [(row.id, row.event_id, row.occurred_at) for row in rows]


def test_duplicate_platform_accounts_are_merged_with_their_entries_and_balances(
    database_url: str, tmp_path: Path, engine: Engine
) -> None:
    """Two "platform revenue" accounts made by a race before the unique index: the upgrade
    keeps the oldest, moves the other's entries onto it and adds up the balances."""
    with fresh_database(database_url, tmp_path) as url:
        scratch = make_engine(url)
        config = alembic_config()
        with scratch.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "5a7e1b0c0001")
        with scratch.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO ledger_accounts (id, kind, owner_id, currency, balance, "
                    "may_go_negative) VALUES (1, 'platform_revenue', NULL, 'coin', 40, true), "
                    "(2, 'platform_revenue', NULL, 'coin', 20, true), "
                    "(3, 'promotions', NULL, 'coin', -60, true)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO ledger_transactions (id, kind, reference, memo, details, "
                    "created_at) VALUES (1, 'unlock', 'u1', '', '{}', :at), "
                    "(2, 'unlock', 'u2', '', '{}', :at)"
                ),
                {"at": datetime(2026, 12, 1, tzinfo=UTC)},
            )
            connection.execute(
                text(
                    "INSERT INTO ledger_entries (transaction_id, ledger_account_id, amount) "
                    "VALUES (1, 1, 40), (1, 3, -40), (2, 2, 20), (2, 3, -20)"
                )
            )

        upgrade_database(scratch)

        with scratch.connect() as connection:
            accounts = connection.execute(
                text("SELECT id, kind, balance FROM ledger_accounts ORDER BY id")
            ).all()
            entries = connection.execute(
                text("SELECT transaction_id, ledger_account_id FROM ledger_entries ORDER BY 1, 2")
            ).all()
        assert [tuple(a) for a in accounts] == [(1, "platform_revenue", 60), (3, "promotions", -60)]
        assert sorted(tuple(e) for e in entries) == [(1, 1), (1, 3), (2, 1), (2, 3)]
        scratch.dispose()
