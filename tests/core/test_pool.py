"""The engine's pool on PostgreSQL: the checkout's BEGIN doubles as the liveness test
(db._begin_on_checkout), so a connection the server dropped is replaced before it is used."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.orm import Session

from microdrama.accounts.models import Account
from microdrama.db import make_engine
from tests.support.database import PG_URL

# PostgreSQL's only (SQLite has no server to lose): run on its database alone.
pytestmark = pytest.mark.parametrize(
    "database_url", ["postgresql"] if PG_URL else [], indirect=True
)


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(text("select pg_backend_pid()")) or 0)


def test_a_connection_the_server_dropped_is_replaced_at_checkout(database_url: str) -> None:
    engine = make_engine(database_url)
    other = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        first = _backend_pid(engine)
        with other.connect() as conn:  # e.g. a server restart or an idle-connection reaper
            conn.execute(text("select pg_terminate_backend(:pid)"), {"pid": first})

        with Session(engine) as db:
            assert db.scalar(text("select 1")) == 1  # no error reaches the caller

        assert _backend_pid(engine) != first
    finally:
        engine.dispose()
        other.dispose()


def test_work_in_a_checked_out_connection_is_one_transaction_and_ends_with_it(
    database_url: str, engine: Engine
) -> None:
    other = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with Session(engine) as db:
            db.add(Account(display_name="never kept"))
            db.flush()
            pid = db.scalar(text("select pg_backend_pid()"))
            db.rollback()
            assert db.scalar(select(Account.id).where(Account.display_name == "never kept")) is None
            db.commit()
        with engine.connect():  # the same pooled connection, given back without running anything
            pass

        with other.connect() as conn:
            state = conn.scalar(
                text("select state from pg_stat_activity where pid = :pid"), {"pid": pid}
            )
        assert state == "idle"  # not "idle in transaction": the checkout's BEGIN was ended
    finally:
        other.dispose()


def test_a_connection_can_still_be_given_its_own_isolation_level(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect().execution_options(isolation_level="SERIALIZABLE") as conn:
            assert conn.scalar(text("show transaction_isolation")) == "serializable"
        with engine.connect() as conn:
            autocommit = conn.execution_options(isolation_level="AUTOCOMMIT")
            assert autocommit.scalar(text("select 1")) == 1
        with engine.connect() as conn:  # back to the default for the next checkout
            assert conn.scalar(text("show transaction_isolation")) == "read committed"
    finally:
        engine.dispose()
