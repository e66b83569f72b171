"""Day partitions of `playback_events` on PostgreSQL: made ahead, and dropped after the
retention period once every event of the day is in the rollup (housekeeping runs both).

The table is `PARTITION BY RANGE (occurred_at)` (migration e1e0da7a0001), one partition per
UTC day named `playback_events_YYYYMMDD`, and a default partition that takes whatever no day's
partition does, so an insert never fails. A day is dropped whole (no DELETE, no vacuum) when
it is older than `events_retention_days` and every one of its events lies inside its view in
`episode_views`: ingestion folds events into their views in the statement that stores them,
so a day of ingested events always is; rows put in by other means (a bulk import not yet
rebuilt) keep their day until the rollup covers them. The dashboards read the rollup only, so
they show the same figures after a drop.

Safe from several processes at once: each step runs in a transaction holding one advisory
lock, so a second housekeeper waits and then finds the work done; each waits at most
LOCK_TIMEOUT for the table's locks (a long query on the events) and leaves the step to the
next round instead of holding up the inserts queued behind it. SQLite keeps one table.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from microdrama.analytics.service import MAX_AGE
from microdrama.db import utcnow

log = logging.getLogger(__name__)

PARENT = "playback_events"
DEFAULT_PARTITION = "playback_events_default"
_DAY_PARTITION = re.compile(r"playback_events_(\d{8})")
# Every housekeeper takes this advisory lock around each step ("events" in ASCII).
_ADVISORY_KEY = 0x6576656E7473
LOCK_TIMEOUT = "2s"
# The last days events may still arrive for (accepted up to MAX_AGE late), never dropped.
LATE_DAYS = MAX_AGE.days + 1


@dataclass
class PartitionChores:
    created: list[date] = field(default_factory=list)
    dropped: list[date] = field(default_factory=list)
    events_dropped: int = 0
    # Old enough to drop, but holding events outside the rollup: kept.
    kept_unrolled: list[date] = field(default_factory=list)


def partition_name(day: date) -> str:
    return f"{PARENT}_{day:%Y%m%d}"


def is_partitioned(bind: Connection | Engine) -> bool:
    return bind.dialect.name == "postgresql"


def day_partitions(connection: Connection) -> dict[date, str]:
    """The day partitions that exist now, by day."""
    names = connection.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = CAST(:parent AS regclass)"
        ),
        {"parent": PARENT},
    ).scalars()
    days: dict[date, str] = {}
    for name in names:
        if match := _DAY_PARTITION.fullmatch(name):
            digits = match.group(1)
            days[date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))] = name
    return days


def maintain(
    engine: Engine, *, days_ahead: int, retention_days: int, today: date | None = None
) -> PartitionChores:
    """Make the partitions of the last LATE_DAYS days, today and the next `days_ahead` days
    (and of any day the default partition holds events of), then drop the days older than
    `retention_days` whose events are all rolled up. Nothing on SQLite."""
    chores = PartitionChores()
    if not is_partitioned(engine):
        return chores
    today = today or utcnow().date()
    wanted = {today + timedelta(days=n) for n in range(-LATE_DAYS, days_ahead + 1)}
    try:
        with engine.begin() as connection:
            _take_turn(connection)
            chores.created = _create(connection, wanted)
    except OperationalError as error:
        if not _lock_timed_out(error):
            raise
        log.warning("playback events: partitions not made this round (table busy)")
    keep_from = today - timedelta(days=max(retention_days, LATE_DAYS))
    with engine.connect() as connection:
        old = sorted(day for day in day_partitions(connection) if day < keep_from)
    for day in old:
        try:
            with engine.begin() as connection:
                _take_turn(connection)
                dropped = _drop_if_rolled_up(connection, day)
        except OperationalError as error:
            if not _lock_timed_out(error):
                raise
            log.warning("playback events: day %s not dropped this round (table busy)", day)
            continue
        if dropped is None:
            chores.kept_unrolled.append(day)
        elif dropped >= 0:
            chores.dropped.append(day)
            chores.events_dropped += dropped
    if chores.kept_unrolled:
        log.warning(
            "playback events: %d day(s) past retention kept, events outside the rollup "
            "(rebuild it: analytics.service.rebuild_views)",
            len(chores.kept_unrolled),
        )
    return chores


def _take_turn(connection: Connection) -> None:
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_KEY})
    connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))


def _lock_timed_out(error: OperationalError) -> bool:
    # lock_not_available (lock_timeout), or chosen as a deadlock's victim against a writer.
    return getattr(error.orig, "sqlstate", None) in {"55P03", "40P01"}


def _bounds(day: date) -> dict[str, Any]:
    return {"lo": f"{day.isoformat()} 00:00:00+00", "hi": f"{day + timedelta(days=1)} 00:00:00+00"}


def _create(connection: Connection, wanted: set[date]) -> list[date]:
    """Create the missing partitions of `wanted` and of the days the default partition holds.

    Each is made as a table of its own and attached: attaching locks the parent only against
    other schema changes (CREATE TABLE … PARTITION OF would lock out every insert and read
    meanwhile), and the default partition against writes while it is checked to hold none of
    the new day's rows. Rows it does hold for that day move into the new partition first."""
    in_default = set(
        connection.execute(
            text(f"SELECT DISTINCT (occurred_at AT TIME ZONE 'UTC')::date FROM {DEFAULT_PARTITION}")
        ).scalars()
    )
    missing = sorted((wanted | in_default) - day_partitions(connection).keys())
    if not missing:
        return []
    connection.execute(text(f"LOCK TABLE {DEFAULT_PARTITION} IN SHARE ROW EXCLUSIVE MODE"))
    for day in missing:
        name = partition_name(day)
        connection.execute(text(f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS)"))
        if day in in_default:
            connection.execute(
                text(
                    f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} "
                    "WHERE occurred_at >= CAST(:lo AS timestamptz) "
                    "AND occurred_at < CAST(:hi AS timestamptz) RETURNING *) "
                    f"INSERT INTO {name} SELECT * FROM moved"
                ),
                _bounds(day),
            )
        bounds = _bounds(day)
        connection.execute(
            text(
                f"ALTER TABLE {PARENT} ATTACH PARTITION {name} "
                f"FOR VALUES FROM ('{bounds['lo']}') TO ('{bounds['hi']}')"
            )
        )
    log.info("playback events: partitions made for %s", ", ".join(map(str, missing)))
    return missing


# An event is rolled up when a view of its (viewer, session, episode) spans its time.
_UNROLLED = (
    "SELECT count(*) FROM {name} AS e WHERE NOT EXISTS (SELECT 1 FROM episode_views AS v "
    "WHERE v.account_id = e.account_id AND v.session_id = e.session_id "
    "AND v.episode_id = e.episode_id AND v.started_at <= e.occurred_at "
    "AND v.last_at >= e.occurred_at)"
)


def _drop_if_rolled_up(connection: Connection, day: date) -> int | None:
    """Drop the day's partition if every event in it is rolled up: the number of events it
    held; None when some are not (kept); -1 when another housekeeper dropped it first."""
    name = day_partitions(connection).get(day)
    if name is None:
        return -1
    # Ingestion refuses events this old; anything else writing into the day waits until the
    # drop (the parent is locked only by the DROP itself, not during the check).
    connection.execute(text(f"LOCK TABLE {name} IN SHARE MODE"))
    if connection.execute(text(_UNROLLED.format(name=name))).scalar_one():
        return None
    count = connection.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()
    connection.execute(text(f"DROP TABLE {name}"))
    log.info("playback events: day %s dropped (%d events, all rolled up)", day, count)
    return int(count)


def outside_the_models(
    object_: Any, name: str | None, type_: str, _reflected: bool, compare_to: Any
) -> bool:
    """Alembic's include_object: False for the day partitions (made by housekeeping, not by
    the models) and for PostgreSQL's duplicate check, which holds the partition key
    (`occurred_at`) beside the model's (account_id, event_id)."""
    if type_ == "table" and name is not None:
        return not (name == DEFAULT_PARTITION or _DAY_PARTITION.fullmatch(name))
    if type_ == "unique_constraint" and name == "uq_playback_events_viewer_event":
        return not any(
            "occurred_at" in constraint.columns
            for constraint in (object_, compare_to)
            if constraint is not None
        )
    return True
