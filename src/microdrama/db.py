"""Engine, declarative Base and the request-scoped session (one transaction per request)."""

from __future__ import annotations

import asyncio
import enum
import logging
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import anyio
from anyio import to_thread
from fastapi import Depends, Request
from psycopg import pq
from sqlalchemy import (
    BigInteger,
    Connection,
    DateTime,
    Engine,
    Enum,
    Integer,
    MetaData,
    Table,
    create_engine,
    event,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import (
    DeclarativeBase,
    Session,
    SessionTransaction,
    mapped_column,
    sessionmaker,
)
from sqlalchemy.pool import QueuePool
from sqlalchemy.types import TypeDecorator
from starlette.types import ASGIApp, Receive, Scope, Send

from microdrama.dependencies import in_event_loop

if TYPE_CHECKING:
    from alembic.config import Config

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


log = logging.getLogger(__name__)


# The ids of tables that grow with traffic (the ledger, orders, attribution events): bigint on
# PostgreSQL, whose integer ends at 2^31-1. SQLite's INTEGER is 64-bit already and must stay
# INTEGER for a primary key to be the autoincrementing rowid.
BIG_ID = BigInteger().with_variant(Integer, "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # The column type of `Mapped[datetime]` and `Mapped[SomeEnum]` when a column names none:
    # UTC-aware datetimes, and enums stored by name in a VARCHAR(16) (no native enum type). A
    # column whose enum needs another length names its own `Enum(...)`.
    type_annotation_map = {
        datetime: UTCDateTime(),
        enum.Enum: Enum(enum.Enum, native_enum=False, length=16),
    }


# Whole column declarations the models share: `id: Mapped[IntPk]`, `created_at: Mapped[CreatedAt]`.
IntPk = Annotated[int, mapped_column(primary_key=True)]
CreatedAt = Annotated[datetime, mapped_column(default=utcnow)]


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the settings each backend needs for concurrent use."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets readers run beside the single writer; the API and workers share the file.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    engine = create_engine(url, pool_size=10, max_overflow=20, **kwargs)
    event.listen(engine, "checkout", partial(_begin_on_checkout, engine.dialect))
    event.listen(engine, "set_connection_execution_options", _before_characteristics)
    event.listen(
        engine,
        "engine_connect",
        lambda conn: _before_characteristics(conn, conn.get_execution_options()),
    )
    return engine


# Execution options psycopg refuses to change inside a transaction.
_CHARACTERISTICS = frozenset({"isolation_level", "postgresql_readonly", "postgresql_deferrable"})


def _before_characteristics(conn: Connection, opts: Any) -> None:
    """A connection about to get another isolation level (or read-only, deferrable) must not
    be in a transaction: roll back the checkout's BEGIN. Nothing ran in it, since SQLAlchemy
    refuses these options once a transaction of its own has begun."""
    if _CHARACTERISTICS.intersection(opts):
        raw = conn.connection.dbapi_connection
        pgconn = getattr(raw, "pgconn", None)
        if pgconn is not None and pgconn.transaction_status == pq.TransactionStatus.INTRANS:
            raw.rollback()  # type: ignore[union-attr]


def _begin_on_checkout(dialect: Any, dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    """Pessimistic disconnect handling whose liveness test is the transaction's own BEGIN.

    SQLAlchemy's `pool_pre_ping` sends `SELECT 1` at every checkout, then psycopg sends `BEGIN`
    before the first statement: two round trips where one tells as much. Here the checkout
    sends psycopg's `BEGIN` itself (psycopg then finds the connection in a transaction and
    sends nothing more); a dead connection fails it, and DisconnectionError makes the pool
    replace it, as SQLAlchemy's documented checkout-event recipe does. Connections that are
    not in psycopg's default mode (autocommit, an isolation level, read-only) get the usual
    ping. A checkout that runs nothing is rolled back at check-in (one round trip, as the
    ping was)."""
    if (
        getattr(dbapi_conn, "pgconn", None) is None
        or dbapi_conn.autocommit
        or dbapi_conn.isolation_level is not None
        or dbapi_conn.read_only is not None
        or dbapi_conn.deferrable is not None
        or dbapi_conn.pgconn.transaction_status != pq.TransactionStatus.IDLE
    ):
        try:
            dialect.do_ping(dbapi_conn)
        except Exception as exc:
            raise DisconnectionError(f"ping failed: {exc}") from exc
        return
    try:
        status = dbapi_conn.pgconn.exec_(b"BEGIN").status
    except Exception as exc:
        raise DisconnectionError(f"BEGIN failed: {exc}") from exc
    if status != pq.ExecStatus.COMMAND_OK:
        raise DisconnectionError(f"BEGIN failed: {dbapi_conn.pgconn.error_message!r}")


_AFTER_COMMIT = "microdrama.after_commit"


def after_commit(db: Session, action: Callable[[], None]) -> None:
    """Run `action` once the session's transaction has committed, never if it rolls back: for
    what the database cannot undo, like deleting a video's files along with its rows."""
    db.info.setdefault(_AFTER_COMMIT, []).append(action)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    for action in session.info.pop(_AFTER_COMMIT, []):
        try:
            action()
        except Exception:  # the commit stands; a file left behind is only space
            log.exception("an after-commit action failed")


@event.listens_for(Session, "after_soft_rollback")
def _forget_after_commit(session: Session, previous_transaction: SessionTransaction) -> None:
    if previous_transaction.parent is None:  # the whole transaction, not a savepoint
        session.info.pop(_AFTER_COMMIT, None)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
    except BaseException:
        _end(session, commit=False)
        raise
    _end(session, commit=True)


def _end(session: Session, *, commit: bool) -> None:
    """A session's end: commit (rolled back if the commit fails) or roll back, then close."""
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def session_factory(request: Request) -> sessionmaker[Session]:
    """The app's session factory: for work in a transaction of its own (money, webhooks)."""
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    return factory


SessionFactory = Annotated[sessionmaker[Session], Depends(in_event_loop(session_factory))]


def pool_capacity(engine: Engine) -> int:
    """How many connections the engine's pool hands out at most (its size and overflow)."""
    pool = engine.pool
    if isinstance(pool, QueuePool):
        return pool.size() + max(pool._max_overflow, 0)
    return 64  # pools without a limit (NullPool, StaticPool) never make a request wait


class RequestAdmission:
    """At most `limit` HTTP requests at a time inside the app; the others wait here, in order,
    before any of them holds a database connection.

    FastAPI runs a request's sync dependencies and then its endpoint as two separate trips to
    the thread pool (40 threads). With more requests in flight than the connection pool holds,
    requests whose dependency already took a connection wait for a thread while every thread
    runs a newer request's dependency waiting for a connection: each waits on the other until
    the pool's 30-second timeout, the process idle (bench/load: 1,000 viewers stalled both two
    PostgreSQL web processes and the embedded SQLite one). Admitting no more requests than the
    pool serves, two sessions each (a money route opens a second one), keeps that from ever
    forming; the wait in the event loop costs nothing. Paths under `exempt` (static files,
    media, upload bodies, event streams) hold no connection while they wait on the network,
    and pass by.
    """

    def __init__(self, app: ASGIApp, *, limit: int, exempt: re.Pattern[str] | None = None) -> None:
        self.app = app
        self.limit = max(1, limit)
        self.exempt = exempt
        self._slots: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.exempt and self.exempt.match(scope["path"])):
            await self.app(scope, receive, send)
            return
        if self._slots is None:  # made in the server's event loop, at its first request
            self._slots = asyncio.Semaphore(self.limit)
        async with self._slots:
            await self.app(scope, receive, send)


def admission_limit(engine: Engine, *, background_connections: int = 4) -> int:
    """Requests one process admits at once: two connections each, after the pool's share for
    the threads beside the requests (embedded worker, housekeeping)."""
    return max(1, (pool_capacity(engine) - background_connections) // 2)


async def get_db(factory: SessionFactory) -> AsyncIterator[Session]:
    """The request's session; the request (not the services) commits.

    Async, so FastAPI sends it to no worker thread: making a Session is pure Python (it takes
    a connection at its first statement), and only the end of a session that was used — its
    COMMIT or ROLLBACK — goes to a thread. A sync generator here cost every request two trips
    to anyio's thread pool, its start and its end (docs/performance.md)."""
    session = factory()
    try:
        yield session
    except BaseException:
        await _end_session(session, commit=False)
        raise
    await _end_session(session, commit=True)


async def _end_session(session: Session, *, commit: bool) -> None:
    """session_scope's end (`_end`) in a worker thread; a session that never began holds no
    connection and just closes, in the loop."""
    if not session.in_transaction():
        session.close()
        return
    with anyio.CancelScope(shield=True):  # a client gone mid-request still gets its rollback
        await to_thread.run_sync(partial(_end, session, commit=commit))


# scope="function" commits before the response is sent, so a 2xx always means "stored".
DbSession = Annotated[Session, Depends(get_db, scope="function")]


def _alembic_config() -> Config:
    from pathlib import Path

    from alembic.config import Config

    root = Path(__file__).resolve().parents[2]
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "migrations"))
    return config


def schema_is_current(engine: Engine) -> bool:
    """Whether the database stands at the newest Alembic revision (False for an empty one)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(_alembic_config()).get_heads())
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return current == heads


def upgrade_database(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (the same path in production and tests)."""
    from alembic import command

    config = _alembic_config()
    with engine.begin() as connection:
        # Python's sqlite3 runs DDL outside any transaction unless one was opened explicitly;
        # without this, a migration failing half-way would leave half its tables behind.
        begin_immediate(connection)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@contextmanager
def sqlite_autocommit(raw: sqlite3.Connection) -> Iterator[None]:
    """Run SQLite statements as their own transactions (what SQLAlchemy's AUTOCOMMIT isolation
    level does to the driver connection): one statement is stored and committed in the one
    call into SQLite. Only outside a transaction, which the change of level would commit."""
    if raw.in_transaction:
        raise RuntimeError("sqlite_autocommit inside a transaction")
    level = raw.isolation_level
    raw.isolation_level = None
    try:
        yield
    finally:
        raw.isolation_level = level


def begin_immediate(connection: Connection) -> None:
    """On SQLite, open the transaction now and take the write lock (Python's sqlite3 would
    otherwise start it lazily, at the first write: too late for read-then-write work and
    never for DDL). PostgreSQL needs nothing: it locks rows with FOR UPDATE instead."""
    if connection.dialect.name == "sqlite":
        raw = connection.connection.dbapi_connection
        if raw is not None and not raw.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


T = TypeVar("T")


def _is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError) and "database is locked" in str(exc):
        return True  # SQLite: another writer held the lock past busy_timeout
    if isinstance(exc, DBAPIError):
        # PostgreSQL serialization_failure and deadlock_detected.
        return getattr(exc.orig, "sqlstate", None) in {"40001", "40P01"}
    return False


def run_money_transaction(
    factory: sessionmaker[Session], fn: Callable[[Session], T], *, attempts: int = 8
) -> T:
    """Run fn(db) in one committed transaction, retrying serialization failures and deadlocks.

    The wallet's before_commit hook (wallet/commit_hooks.py) sends the creators' pending
    earnings credits with the COMMIT itself.
    """
    for attempt in range(attempts):
        db = factory()
        try:
            # SQLite: the write lock before reading balances (no lost updates).
            begin_immediate(db.connection())
            result = fn(db)
            db.commit()
            return result
        except Exception as exc:
            db.rollback()
            if attempt + 1 < attempts and _is_retryable(exc):
                time.sleep(min(0.5, 0.01 * 2**attempt))
                continue
            raise
        finally:
            db.close()
    raise AssertionError("unreachable")


class MoneyTransactions:
    """A route's way to run work in a money transaction of its own (`run_money_transaction`),
    as a dependency: `money_db: MoneyTransaction` then `money_db.run(fn)`."""

    def __init__(self, request_db: DbSession, factory: SessionFactory) -> None:
        self.request_db = request_db
        self.factory = factory

    def run(self, fn: Callable[[Session], T]) -> T:
        # What the request wrote first (a new guest viewer) is committed, so the money
        # session sees it and SQLite's single writer is free.
        self.request_db.commit()
        return run_money_transaction(self.factory, fn)


MoneyTransaction = Annotated[MoneyTransactions, Depends(MoneyTransactions)]


def dialect_insert(dialect: str, table: Table) -> Any:
    """An INSERT with the backend's ON CONFLICT clauses (PostgreSQL and SQLite share them)."""
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
