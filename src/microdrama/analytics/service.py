"""Event ingestion: validate each event alone, store it once, and keep the per-view rollup.

Deadlock-free under concurrency by construction: a batch inserts its events in (viewer,
event id) order and then upserts its views in (viewer, session, episode) order, so two
transactions always take the same unique-key locks in the same global order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from sqlalchemy import case, func, select, text
from sqlalchemy import delete as sa_delete
from sqlalchemy import insert as sa_insert
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from microdrama.analytics.models import PLAYING_KINDS, EpisodeView, EventKind, PlaybackEvent
from microdrama.analytics.schemas import MAX_BATCH, EventIn, IngestResult, RejectedEvent
from microdrama.cache import TTLCache
from microdrama.catalog.models import Episode
from microdrama.db import utcnow
from microdrama.errors import DomainError, PayloadTooLarge

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


class InvalidBatch(DomainError):
    status_code = 422
    code = "invalid_batch"


class _BatchBody(BaseModel):
    events: list[EventIn] = Field(max_length=MAX_BATCH)


_BODY = TypeAdapter(_BatchBody)


def parse_body(body: bytes) -> list[Any]:
    """The events of a request body `{"events": [...]}`: parsed and validated in one pass when
    all are good (the usual case), else the raw list, whose events are then checked one by one.
    A body that is not such an object, or holds more than MAX_BATCH events, is refused whole."""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"A batch may be at most {MAX_BODY_BYTES} bytes.")
    try:
        return list(_BODY.validate_json(body).events)
    except ValidationError:
        pass
    try:
        data = json.loads(body)
    except ValueError:
        raise InvalidBatch("The body is not JSON.") from None
    events = data.get("events") if isinstance(data, dict) else None
    if not isinstance(events, list):
        raise InvalidBatch('Send {"events": [...]}.')
    if len(events) > MAX_BATCH:
        raise InvalidBatch(f"A batch may hold at most {MAX_BATCH} events; send several.")
    return events


def _parse(raw_events: Sequence[Any]) -> tuple[list[tuple[int, EventIn]], list[RejectedEvent]]:
    """The events already validated (parse_body's fast path), else validated one by one."""
    if all(isinstance(event, EventIn) for event in raw_events):
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


def validate_batch(
    *,
    db: Session,
    raw_events: Sequence[Any],
    now: datetime,
    episodes: EpisodeFactsCache | None = None,
) -> tuple[list[dict[str, Any]], list[RejectedEvent]]:
    """The batch's valid events as table rows, and the rejects."""
    parsed, rejected = _parse(raw_events)
    episode_ids = {event.episode_id for _, event in parsed}
    facts = episodes.lookup(db, episode_ids) if episodes else _episode_facts(db, episode_ids)
    rows: list[dict[str, Any]] = []
    for index, event in parsed:
        episode = facts.get(event.episode_id)
        error = None
        if episode is None:
            error = f"episode_id: no episode {event.episode_id}"
        elif event.occurred_at > now + FUTURE_SKEW:
            error = "occurred_at: in the future"
        elif event.occurred_at < now - MAX_AGE:
            error = "occurred_at: older than 7 days"
        elif episode.duration_ms and event.position_ms > episode.duration_ms + POSITION_SLACK_MS:
            error = f"position_ms: beyond the episode's end ({episode.duration_ms} ms)"
        if error is not None or episode is None:
            rejected.append(RejectedEvent(index=index, error=error or "invalid"))
            continue
        position_ms = event.position_ms
        if episode.duration_ms:
            position_ms = min(position_ms, episode.duration_ms)
            if event.kind == EventKind.complete:
                position_ms = episode.duration_ms
        rows.append(
            {
                "event_id": event.event_id,
                "kind": event.kind.value,
                "series_id": episode.series_id,
                "episode_id": event.episode_id,
                "session_id": event.session_id,
                "position_ms": position_ms,
                "occurred_at": event.occurred_at,
                "received_at": now,
            }
        )
    rejected.sort(key=lambda r: r.index)
    return rows, rejected


EVENT_COLUMNS = (
    ("account_id", "integer"), ("event_id", "varchar"), ("kind", "varchar"),
    ("series_id", "integer"), ("episode_id", "integer"), ("session_id", "varchar"),
    ("position_ms", "integer"), ("occurred_at", "timestamptz"), ("received_at", "timestamptz"),
)  # fmt: skip
VIEW_COLUMNS = (
    ("account_id", "integer"), ("session_id", "varchar"), ("episode_id", "integer"),
    ("series_id", "integer"), ("started_at", "timestamptz"), ("last_at", "timestamptz"),
    ("played", "boolean"), ("furthest_ms", "integer"), ("completed", "boolean"),
    ("swiped_away", "boolean"), ("paywall_shown_at", "timestamptz"), ("unlocked", "boolean"),
)  # fmt: skip


def _unnest(columns: tuple[tuple[str, str], ...]) -> str:
    """`SELECT … FROM unnest(:a::t[], …)`: one parameter per column, whatever the row count,
    so PostgreSQL gets one short statement (psycopg adapts each list to an array)."""
    arrays = ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in columns)
    names = ", ".join(name for name, _ in columns)
    return f"SELECT {names} FROM unnest({arrays}) AS rows({names})"


# PostgreSQL: rows as arrays, taken in key order so concurrent batches lock in one order.
PG_INSERT_EVENTS = text(
    f"INSERT INTO playback_events ({', '.join(n for n, _ in EVENT_COLUMNS)}) "
    f"{_unnest(EVENT_COLUMNS)} ORDER BY account_id, event_id "
    "ON CONFLICT (account_id, event_id) DO NOTHING RETURNING event_id"
)
PG_UPSERT_VIEWS = text(
    f"INSERT INTO episode_views ({', '.join(n for n, _ in VIEW_COLUMNS)}) "
    f"{_unnest(VIEW_COLUMNS)} ORDER BY account_id, session_id, episode_id "
    "ON CONFLICT (account_id, session_id, episode_id) DO UPDATE SET "
    "started_at = LEAST(episode_views.started_at, excluded.started_at), "
    "last_at = GREATEST(episode_views.last_at, excluded.last_at), "
    "played = episode_views.played OR excluded.played, "
    "furthest_ms = GREATEST(episode_views.furthest_ms, excluded.furthest_ms), "
    "completed = episode_views.completed OR excluded.completed, "
    "swiped_away = episode_views.swiped_away OR excluded.swiped_away, "
    "paywall_shown_at = LEAST(episode_views.paywall_shown_at, excluded.paywall_shown_at), "
    "unlocked = episode_views.unlocked OR excluded.unlocked"
)


def as_arrays(
    rows: Sequence[dict[str, Any]], columns: tuple[tuple[str, str], ...]
) -> dict[str, list[Any]]:
    return {name: [row[name] for row in rows] for name, _ in columns}


@dataclass(frozen=True)
class _Statements:
    insert_events: Any
    upsert_views: Any


@cache
def _sqlite_statements() -> _Statements:
    """SQLite's two ingestion statements, built once and run as executemany (SQLAlchemy
    batches the rows into multi-row VALUES with RETURNING; the compiled form is cached)."""
    insert_events = (
        sqlite.insert(PlaybackEvent)
        .on_conflict_do_nothing(index_elements=["account_id", "event_id"])
        .returning(PlaybackEvent.event_id)
    )
    upsert = sqlite.insert(EpisodeView)
    new = upsert.excluded
    table = EpisodeView.__table__.c
    upsert_views = upsert.on_conflict_do_update(
        index_elements=["account_id", "session_id", "episode_id"],
        set_={
            # SQLite's two-argument min() and max() are scalar functions.
            "started_at": func.min(table.started_at, new.started_at),
            "last_at": func.max(table.last_at, new.last_at),
            "played": table.played | new.played,
            "furthest_ms": func.max(table.furthest_ms, new.furthest_ms),
            "completed": table.completed | new.completed,
            "swiped_away": table.swiped_away | new.swiped_away,
            # min() with a NULL is NULL here (PostgreSQL's LEAST skips NULLs): coalesce.
            "paywall_shown_at": func.coalesce(
                func.min(table.paywall_shown_at, new.paywall_shown_at),
                table.paywall_shown_at,
                new.paywall_shown_at,
            ),
            "unlocked": table.unlocked | new.unlocked,
        },
    )
    return _Statements(insert_events=insert_events, upsert_views=upsert_views)


def ingest(
    *,
    db: Session,
    account_id: int,
    raw_events: Sequence[Any],
    now: datetime | None = None,
    episodes: EpisodeFactsCache | None = None,
) -> IngestResult:
    """Store a batch of one viewer's events: new ones once, duplicates ignored, bad ones
    reported by index; the views the new events belong to are updated in the same transaction."""
    now = now or utcnow()
    rows, rejected = validate_batch(db=db, raw_events=raw_events, now=now, episodes=episodes)
    unique: dict[str, dict[str, Any]] = {}
    for row in rows:
        unique.setdefault(row["event_id"], {**row, "account_id": account_id})
    ordered = [unique[event_id] for event_id in sorted(unique)]
    new_ids: set[str] = set()
    if ordered:
        connection = db.connection()
        if connection.dialect.name == "postgresql":
            result = connection.execute(PG_INSERT_EVENTS, as_arrays(ordered, EVENT_COLUMNS))
        else:
            result = connection.execute(_sqlite_statements().insert_events, ordered)
        new_ids = set(result.scalars())
    upsert_views(db=db, events=[row for row in ordered if row["event_id"] in new_ids])
    return IngestResult(
        accepted=len(new_ids), duplicates=len(rows) - len(new_ids), rejected=rejected
    )


def fold_views(events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events folded into view rows, one per (viewer, session, episode), in key order."""
    views: dict[tuple[int, str, int], dict[str, Any]] = {}
    for event in events:
        key = (event["account_id"], event["session_id"], event["episode_id"])
        kind = event["kind"]
        at = event["occurred_at"]
        view = views.get(key)
        if view is None:
            view = views[key] = {
                "account_id": key[0],
                "session_id": key[1],
                "episode_id": key[2],
                "series_id": event["series_id"],
                "started_at": at,
                "last_at": at,
                "played": False,
                "furthest_ms": 0,
                "completed": False,
                "swiped_away": False,
                "paywall_shown_at": None,
                "unlocked": False,
            }
        view["started_at"] = min(view["started_at"], at)
        view["last_at"] = max(view["last_at"], at)
        if kind in PLAYING_KINDS:
            view["played"] = True
            view["furthest_ms"] = max(view["furthest_ms"], event["position_ms"])
        view["completed"] |= kind == EventKind.complete
        view["swiped_away"] |= kind == EventKind.swipe_away
        view["unlocked"] |= kind == EventKind.unlock
        if kind == EventKind.paywall_shown:
            shown = view["paywall_shown_at"]
            view["paywall_shown_at"] = at if shown is None else min(shown, at)
    return [views[key] for key in sorted(views)]


def upsert_views(*, db: Session, events: Sequence[dict[str, Any]]) -> None:
    """Merge events into their views; every merge is max/min/or, so order never matters."""
    views = fold_views(events)
    if not views:
        return
    connection = db.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(PG_UPSERT_VIEWS, as_arrays(views, VIEW_COLUMNS))
    else:
        connection.execute(_sqlite_statements().upsert_views, views)


def rebuild_views(*, db: Session, series_id: int | None = None) -> None:
    """Recompute the rollup from the stored events in one SQL statement (after a bulk import,
    or to check that the incremental rollup is right)."""
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
