"""Event ingestion: validate each event alone, store it once, and keep the per-view rollup.

A batch is prepared (parsed, checked, turned into rows) before it takes its turn to write, and
stored in one transaction. PostgreSQL folds the new events into `episode_views` in the
statement that stores them; SQLite stores them as a plain insert and folds them a moment later
(`fold_new_events`: by a background folder every couple of seconds, and by every reader of the
rollup before it reads), so its one writer spends its turn on the events alone.

Deadlock-free under concurrency by construction: a batch inserts its events in (viewer,
event id) order and then upserts its views in (viewer, session, episode) order, so two
transactions always take the same unique-key locks in the same global order.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any, cast

from pydantic import Field, TypeAdapter, ValidationError
from pydantic_core import from_json
from sqlalchemy import Connection, Engine, case, func, select, text
from sqlalchemy import delete as sa_delete
from sqlalchemy import insert as sa_insert
from sqlalchemy import update as sa_update
from sqlalchemy.orm import Session
from typing_extensions import TypedDict

from microdrama.analytics.models import (
    PLAYING_KINDS,
    EpisodeView,
    EventKind,
    PlaybackEvent,
    RollupMark,
)
from microdrama.analytics.schemas import MAX_BATCH, EventIn, IngestResult, RejectedEvent
from microdrama.cache import TTLCache
from microdrama.catalog.models import Episode
from microdrama.db import begin_immediate, sqlite_autocommit, utcnow
from microdrama.errors import DomainError, PayloadTooLarge

log = logging.getLogger(__name__)

# Clocks drift; a beacon may be sent late (a tab frozen in the background) but not years late.
FUTURE_SKEW = timedelta(minutes=5)
MAX_AGE = timedelta(days=7)
# A progress event may overshoot the end a little (timer granularity, rounding of durations).
POSITION_SLACK_MS = 5_000
# 500 events of about 200 bytes, with room for longer ids.
MAX_BODY_BYTES = 512 * 1024

_EVENT = TypeAdapter(EventIn)
_BATCH = TypeAdapter(list[EventIn])


@dataclass(frozen=True)
class _EpisodeFacts:
    series_id: int
    duration_ms: int


def _reason(exc: ValidationError) -> str:
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or "event"
    return f"{field}: {first['msg']}"


class EpisodeFactsCache:
    """Each episode's series and duration, kept a few seconds per process: a batch mostly
    names the same few episodes, and a replaced video's new duration shows within the TTL."""

    def __init__(self, ttl_seconds: float = 30.0) -> None:
        self._cache = TTLCache[_EpisodeFacts](ttl_seconds=ttl_seconds, max_entries=10_000)

    def lookup(self, db: Session, episode_ids: set[int]) -> dict[int, _EpisodeFacts]:
        found: dict[int, _EpisodeFacts] = {}
        for episode_id in episode_ids:
            facts = self._cache.get(episode_id)
            if facts is not None:
                found[episode_id] = facts
        missing = episode_ids - found.keys()
        for episode_id, facts in _episode_facts(db, missing).items():
            found[episode_id] = self._cache.put(episode_id, facts)
        return found


def _episode_facts(db: Session, episode_ids: set[int]) -> dict[int, _EpisodeFacts]:
    if not episode_ids:
        return {}
    rows = db.execute(
        select(Episode.id, Episode.series_id, Episode.duration_ms).where(
            Episode.id.in_(episode_ids)
        )
    )
    return {row.id: _EpisodeFacts(row.series_id, row.duration_ms) for row in rows}


class InvalidBatch(DomainError, code="invalid_batch", status_code=422): ...


class _BatchBody(TypedDict):
    events: Annotated[list[EventIn], Field(max_length=MAX_BATCH)]


_BODY = TypeAdapter(_BatchBody)


class _Checked(list[EventIn]):
    """Events already validated (parse_body's fast path): not checked again."""


def parse_body(body: bytes) -> list[Any]:
    """The events of a request body `{"events": [...]}`: parsed and validated in one pass when
    all are good (the usual case), else the raw list, whose events are then checked one by one.
    A body that is not such an object, or holds more than MAX_BATCH events, is refused whole."""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"A batch may be at most {MAX_BODY_BYTES} bytes.")
    try:
        return _Checked(_BODY.validate_json(body)["events"])
    except ValidationError:
        pass
    try:
        # pydantic-core's parser refuses more than 200 levels of nesting with a ValueError;
        # json.loads recursed into 100,000 nested arrays until RecursionError (a 500).
        data = from_json(body)
    except ValueError as exc:
        if "recursion limit" in str(exc):
            raise InvalidBatch("The body is nested too deeply to be a batch.") from None
        raise InvalidBatch("The body is not JSON.") from None
    events = data.get("events") if isinstance(data, dict) else None
    if not isinstance(events, list):
        raise InvalidBatch('Send {"events": [...]}.')
    if len(events) > MAX_BATCH:
        raise InvalidBatch(f"A batch may hold at most {MAX_BATCH} events; send several.")
    return events


def _parse(raw_events: Sequence[Any]) -> tuple[list[tuple[int, EventIn]], list[RejectedEvent]]:
    """The events already validated (parse_body's fast path), else validated one by one."""
    if isinstance(raw_events, _Checked):
        return list(enumerate(raw_events)), []
    try:
        return list(enumerate(_BATCH.validate_python(raw_events))), []
    except ValidationError:
        pass
    parsed: list[tuple[int, EventIn]] = []
    rejected: list[RejectedEvent] = []
    for index, raw in enumerate(raw_events):
        try:
            parsed.append((index, _EVENT.validate_python(raw)))
        except ValidationError as exc:
            rejected.append(RejectedEvent(index=index, error=_reason(exc)))
    return parsed, rejected


# A valid event as a table row, in EVENT_COLUMNS order (times as datetimes, or as SQLite's
# stored strings).
EventRow = tuple[int, str, str, int, int, str, int, datetime | str, datetime | str]


def validate_batch(
    *,
    db: Session,
    raw_events: Sequence[Any],
    now: datetime,
    account_id: int = 0,
    episodes: EpisodeFactsCache | None = None,
    as_stored_in_sqlite: bool = False,
) -> tuple[list[EventRow], list[RejectedEvent]]:
    """The batch's valid events as table rows (tuples in EVENT_COLUMNS order), and the rejects.
    `as_stored_in_sqlite`: the two times as the strings SQLAlchemy writes in SQLite."""
    parsed, rejected = _parse(raw_events)
    episode_ids = {event["episode_id"] for _, event in parsed}
    facts = episodes.lookup(db, episode_ids) if episodes else _episode_facts(db, episode_ids)
    # In the time zone object pydantic gives times sent in UTC: comparing two times that share
    # it skips the UTC offsets (a tenth of the cost per event).
    latest = (now + FUTURE_SKEW).astimezone(_PARSED_UTC)
    earliest = (now - MAX_AGE).astimezone(_PARSED_UTC)
    received: datetime | str = sqlite_time(now) if as_stored_in_sqlite else now
    complete = EventKind.complete.value
    rows: list[EventRow] = []
    for index, event in parsed:
        episode_id, kind = event["episode_id"], event["kind"]
        episode = facts.get(episode_id)
        occurred_at = event["occurred_at"]
        position_ms = event.get("position_ms", 0)
        if episode is None:
            error = f"episode_id: no episode {episode_id}"
        elif occurred_at > latest:
            error = "occurred_at: in the future"
        elif occurred_at < earliest:
            error = "occurred_at: older than 7 days"
        elif (duration := episode.duration_ms) and position_ms > duration + POSITION_SLACK_MS:
            error = f"position_ms: beyond the episode's end ({duration} ms)"
        else:
            if duration:
                position_ms = duration if kind == complete else min(position_ms, duration)
            at = sqlite_time(occurred_at) if as_stored_in_sqlite else occurred_at
            row = (account_id, event["event_id"], kind, episode.series_id, episode_id)
            rows.append((*row, event["session_id"], position_ms, at, received))
            continue
        rejected.append(RejectedEvent(index=index, error=error))
    rejected.sort(key=lambda r: r.index)
    return rows, rejected


EVENT_COLUMNS = (
    ("account_id", "integer"), ("event_id", "varchar"), ("kind", "varchar"),
    ("series_id", "integer"), ("episode_id", "integer"), ("session_id", "varchar"),
    ("position_ms", "integer"), ("occurred_at", "timestamptz"), ("received_at", "timestamptz"),
)  # fmt: skip
_EVENT_NAMES = ", ".join(name for name, _ in EVENT_COLUMNS)
_VIEW_NAMES = (
    "account_id, session_id, episode_id, series_id, started_at, last_at, played, furthest_ms, "
    "completed, swiped_away, paywall_shown_at, unlocked"
)
_VIEW_KEY = "account_id, session_id, episode_id"


def _view_aggregates() -> str:
    """A view row from its events (GROUP BY the view key): the same figures as rebuild_views,
    as SQL both backends run."""
    playing = ", ".join(f"'{kind.value}'" for kind in sorted(PLAYING_KINDS))

    def flag(condition: str) -> str:
        return f"max(CASE WHEN {condition} THEN 1 ELSE 0 END) = 1"

    return ", ".join(
        [
            _VIEW_KEY, "min(series_id)", "min(occurred_at)", "max(occurred_at)",
            flag(f"kind IN ({playing})"),
            f"max(CASE WHEN kind IN ({playing}) THEN position_ms ELSE 0 END)",
            flag("kind = 'complete'"), flag("kind = 'swipe_away'"),
            "min(CASE WHEN kind = 'paywall_shown' THEN occurred_at END)", flag("kind = 'unlock'"),
        ]
    )  # fmt: skip


def _merge_views(least: str, greatest: str) -> str:
    """The upsert's merge of a stored view with new events' view: every column max/min/or."""
    return (
        f"ON CONFLICT ({_VIEW_KEY}) DO UPDATE SET "
        f"started_at = {least}(episode_views.started_at, excluded.started_at), "
        f"last_at = {greatest}(episode_views.last_at, excluded.last_at), "
        "played = episode_views.played OR excluded.played, "
        f"furthest_ms = {greatest}(episode_views.furthest_ms, excluded.furthest_ms), "
        "completed = episode_views.completed OR excluded.completed, "
        "swiped_away = episode_views.swiped_away OR excluded.swiped_away, "
        # SQLite's min() with a NULL is NULL (PostgreSQL's LEAST skips NULLs): coalesce.
        "paywall_shown_at = coalesce("
        f"{least}(episode_views.paywall_shown_at, excluded.paywall_shown_at), "
        "episode_views.paywall_shown_at, excluded.paywall_shown_at), "
        "unlocked = episode_views.unlocked OR excluded.unlocked"
    )


def _unnest(columns: tuple[tuple[str, str], ...]) -> str:
    """`SELECT … FROM unnest(:a::t[], …)`: one parameter per column, whatever the row count,
    so PostgreSQL gets one short statement (psycopg adapts each list to an array)."""
    arrays = ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in columns)
    names = ", ".join(name for name, _ in columns)
    return f"SELECT {names} FROM unnest({arrays}) AS rows({names})"


# PostgreSQL: one statement, one round trip. The events go in in key order (ON CONFLICT DO
# NOTHING: duplicates skipped; the key holds `occurred_at`, the day partitions' key, and a
# retried beacon resends an event with its time), the new ones are folded into their views,
# which are upserted in key order, so concurrent batches take the unique-key locks in one
# global order; the answer is the number of new events. (A data-modifying WITH runs to
# completion, and the views' sorted aggregate reads every new event before it writes its first
# view.)
PG_INGEST = text(
    f"WITH new AS (INSERT INTO playback_events ({_EVENT_NAMES}) "
    f"{_unnest(EVENT_COLUMNS)} ORDER BY account_id, event_id, occurred_at "
    "ON CONFLICT (account_id, event_id, occurred_at) DO NOTHING "
    "RETURNING account_id, session_id, episode_id, series_id, kind, position_ms, occurred_at), "
    f"views AS (INSERT INTO episode_views ({_VIEW_NAMES}) SELECT {_view_aggregates()} FROM new "
    f"GROUP BY {_VIEW_KEY} ORDER BY {_VIEW_KEY} {_merge_views('LEAST', 'GREATEST')}) "
    "SELECT count(*) FROM new"
)

# SQLite: the events alone, all of a batch's rows in one multi-row INSERT run as its own
# transaction (see `store`); the database counts the rows it stored (conflicts store nothing).
_SQLITE_ROW = f"({', '.join('?' * len(EVENT_COLUMNS))})"


@lru_cache(maxsize=MAX_BATCH)
def sqlite_insert_events(count: int) -> str:
    """The INSERT of `count` event rows (500 rows are 4,500 parameters: SQLite allows 32,766)."""
    return (
        f"INSERT INTO playback_events ({_EVENT_NAMES}) VALUES {', '.join([_SQLITE_ROW] * count)} "
        "ON CONFLICT (account_id, event_id) DO NOTHING"
    )


# ...and later the events past the mark folded into their views, in one statement.
SQLITE_FOLD = (
    f"INSERT INTO episode_views ({_VIEW_NAMES}) SELECT {_view_aggregates()} "
    "FROM playback_events WHERE id > ? AND id <= ? "
    f"GROUP BY {_VIEW_KEY} ORDER BY {_VIEW_KEY} {_merge_views('min', 'max')}"
)
VIEWS_MARK = "episode_views"


# The time zone pydantic gives a time sent in UTC ("…Z", "+00:00"): one shared object.
_PARSED_UTC = TypeAdapter(datetime).validate_json('"2000-01-01T00:00:00Z"').tzinfo


def sqlite_time(value: datetime) -> str:
    """A UTC time as SQLAlchemy stores it in SQLite (`YYYY-MM-DD HH:MM:SS.ffffff`, naive)."""
    if value.tzinfo is not _PARSED_UTC and value.tzinfo is not UTC:  # players send UTC
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]


def as_arrays(
    rows: Sequence[Sequence[Any]], columns: tuple[tuple[str, str], ...]
) -> dict[str, list[Any]]:
    """Rows (tuples in `columns` order) as one list per column, for the unnest statements."""
    by_column = zip(*rows, strict=True)
    return {name: list(values) for (name, _), values in zip(columns, by_column, strict=True)}


_SQLITE_WRITER = threading.Lock()


def _is_sqlite(bind: Session | Connection | Engine) -> bool:
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    return engine.dialect.name == "sqlite"


@contextmanager
def batch_writer(db: Session) -> Iterator[None]:
    """Held around a batch's writes and commit. On SQLite (one writer at a time anyway) this
    process's batches queue on a lock and start the moment the previous one commits, instead of
    SQLite's busy handler polling with sleeps of 1, 2, 5, 10… ms; PostgreSQL needs nothing.

    What the session already wrote (the guest account a device's first request creates) is
    committed before queueing: waiting for the lock while holding SQLite's would stall the
    batch ahead until its busy timeout."""
    if not _is_sqlite(db):
        yield
        return
    raw = db.connection().connection.dbapi_connection
    if raw is not None and raw.in_transaction:
        db.commit()
    with _SQLITE_WRITER:
        yield


@dataclass(frozen=True)
class PreparedBatch:
    """A batch ready to store: its valid events as the backend's parameters, how many valid
    events it held (a batch may repeat itself) and the rejected ones. PostgreSQL: column
    arrays, one row per event id in id order (the lock order); SQLite: the multi-row INSERT's
    values, row after row, times as stored (one writer, so any order; a repeat is a conflict
    like any other)."""

    params: dict[str, list[Any]] | list[Any]
    valid: int
    rejected: list[RejectedEvent]


def prepare(
    *,
    db: Session,
    account_id: int,
    raw_events: Sequence[Any],
    now: datetime | None = None,
    episodes: EpisodeFactsCache | None = None,
) -> PreparedBatch:
    """Validate a batch of one viewer's events and turn it into the backend's parameters (no
    writes: all of this happens before the batch waits for its turn to write)."""
    sqlite = _is_sqlite(db)
    rows, rejected = validate_batch(
        db=db, raw_events=raw_events, now=now or utcnow(), account_id=account_id,
        episodes=episodes, as_stored_in_sqlite=sqlite,
    )  # fmt: skip
    if sqlite:
        # One writer at a time: any order will do, and a repeat is a conflict like any other.
        values = [value for row in rows for value in row]
        return PreparedBatch(params=values, valid=len(rows), rejected=rejected)
    unique: dict[str, EventRow] = {}
    for row in rows:
        unique.setdefault(row[1], row)
    ordered = [unique[event_id] for event_id in sorted(unique)]
    arrays = as_arrays(ordered, EVENT_COLUMNS) if ordered else {}
    return PreparedBatch(params=arrays, valid=len(rows), rejected=rejected)


def store(*, db: Session, batch: PreparedBatch) -> IngestResult:
    """Store a prepared batch: new events once, duplicates ignored (inside batch_writer).
    PostgreSQL: the views they belong to are updated in the same statement; the caller
    commits. SQLite: the batch is committed when this returns (the session must have nothing
    uncommitted: batch_writer sees to it)."""
    accepted = 0
    if batch.params:
        connection = db.connection()
        if isinstance(batch.params, dict):
            accepted = connection.execute(PG_INGEST, batch.params).scalar_one()
        else:
            # One statement, its own transaction: stored and committed in one call into SQLite,
            # which gives the interpreter lock back once (a one-row INSERT per event, then a
            # COMMIT, waited for it after each: under load most of the writer's turn).
            raw = cast(sqlite3.Connection, connection.connection.driver_connection)
            with sqlite_autocommit(raw):
                insert = sqlite_insert_events(batch.valid)
                accepted = raw.execute(insert, batch.params).rowcount
    duplicates = batch.valid - accepted
    return IngestResult(accepted=accepted, duplicates=duplicates, rejected=batch.rejected)


def _fold(connection: Connection) -> int:
    """Fold the events past the mark into their views and move the mark (SQLite, inside the
    caller's write transaction); the number of ids folded. PostgreSQL: nothing to do."""
    if connection.dialect.name != "sqlite":
        return 0
    mark = connection.scalar(select(RollupMark.last_event_id).where(RollupMark.name == VIEWS_MARK))
    top = connection.scalar(select(func.max(PlaybackEvent.id)))
    done = mark or 0
    if top is None or top <= done:
        return 0
    connection.exec_driver_sql(SQLITE_FOLD, (done, top))
    values = {"last_event_id": top, "updated_at": utcnow()}
    if mark is None:
        connection.execute(sa_insert(RollupMark).values(name=VIEWS_MARK, **values))
    else:
        connection.execute(
            sa_update(RollupMark).where(RollupMark.name == VIEWS_MARK).values(**values)
        )
    return top - done


def fold_new_events(engine: Engine) -> int:
    """Bring `episode_views` up to date with every stored event, in a short transaction of its
    own (SQLite; PostgreSQL is always up to date). Every reader of the rollup calls it first,
    so what it reads is exact. Don't call it while this thread holds SQLite's write lock in
    another session (it would wait for that session's commit)."""
    if not _is_sqlite(engine):
        return 0
    with _SQLITE_WRITER, engine.begin() as connection:
        begin_immediate(connection)
        return _fold(connection)


class RollupFolder:
    """Folds new events into the rollup every `interval_seconds` while events come in (one per
    process that ingests on SQLite), so a reader's catch-up is never more than a moment's
    events. A round that fails is logged and retried by the next."""

    def __init__(self, engine: Engine, interval_seconds: float = 2.0) -> None:
        self.engine = engine
        self.interval_seconds = interval_seconds
        self._dirty = threading.Event()
        self._started = False
        self._start_lock = threading.Lock()

    def nudge(self) -> None:
        """Events were stored: fold them within the interval."""
        self._dirty.set()
        if not self._started:
            with self._start_lock:
                if not self._started:
                    thread = threading.Thread(target=self._run, name="rollup", daemon=True)
                    thread.start()
                    self._started = True

    def _run(self) -> None:
        while self._dirty.wait():
            time.sleep(self.interval_seconds)  # let a moment's events gather
            self._dirty.clear()
            try:
                fold_new_events(self.engine)
            except Exception:
                log.exception("folding playback events into episode_views failed")


def rebuild_views(*, db: Session, series_id: int | None = None) -> None:
    """Recompute the rollup from the stored events in one SQL statement (after a bulk import,
    or to check that the incremental rollup is right). On SQLite the mark moves past every
    stored event first (the events of other series are folded, this series' rebuilt).

    PostgreSQL drops old days of events (analytics.partitions): a view whose first event is
    gone is kept, merged with what is left of its events, never rebuilt from a part of them."""
    if not _is_sqlite(db):
        _rebuild_views_from_stored_events(db=db, series_id=series_id)
        return
    _fold(db.connection())
    events = PlaybackEvent.__table__.c
    delete = sa_delete(EpisodeView)
    if series_id is not None:
        delete = delete.where(EpisodeView.series_id == series_id)
    db.execute(delete)
    playing = events.kind.in_([kind.value for kind in PLAYING_KINDS])
    grouped = select(
        events.account_id,
        events.session_id,
        events.episode_id,
        func.min(events.series_id),
        func.min(events.occurred_at),
        func.max(events.occurred_at),
        func.max(case((playing, 1), else_=0)) == 1,
        func.max(case((playing, events.position_ms), else_=0)),
        func.max(case((events.kind == EventKind.complete.value, 1), else_=0)) == 1,
        func.max(case((events.kind == EventKind.swipe_away.value, 1), else_=0)) == 1,
        func.min(case((events.kind == EventKind.paywall_shown.value, events.occurred_at))),
        func.max(case((events.kind == EventKind.unlock.value, 1), else_=0)) == 1,
    ).group_by(events.account_id, events.session_id, events.episode_id)
    if series_id is not None:
        grouped = grouped.where(events.series_id == series_id)
    columns = [
        "account_id", "session_id", "episode_id", "series_id", "started_at", "last_at",
        "played", "furthest_ms", "completed", "swiped_away", "paywall_shown_at", "unlocked",
    ]  # fmt: skip
    db.execute(sa_insert(EpisodeView).from_select(columns, grouped))


def _rebuild_views_from_stored_events(*, db: Session, series_id: int | None) -> None:
    params = {} if series_id is None else {"series_id": series_id}
    of_series = "" if series_id is None else " AND v.series_id = :series_id"
    db.execute(
        text(
            "DELETE FROM episode_views AS v WHERE EXISTS (SELECT 1 FROM playback_events AS e "
            "WHERE e.account_id = v.account_id AND e.session_id = v.session_id "
            f"AND e.episode_id = v.episode_id AND e.occurred_at = v.started_at){of_series}"
        ),
        params,
    )
    where = "" if series_id is None else "WHERE series_id = :series_id"
    db.execute(
        text(
            f"INSERT INTO episode_views ({_VIEW_NAMES}) SELECT {_view_aggregates()} "
            f"FROM playback_events {where} GROUP BY {_VIEW_KEY} ORDER BY {_VIEW_KEY} "
            f"{_merge_views('LEAST', 'GREATEST')}"
        ),
        params,
    )
