"""playback_events partitioned by day on PostgreSQL (SQLite: nothing to do)

Revision ID: e1e0da7a0001
Revises: 0b5e7a110002
Create Date: 2026-12-05 21:10:00

PostgreSQL: the table becomes `PARTITION BY RANGE (occurred_at)`, one partition per UTC day
(`playback_events_YYYYMMDD`) and a default partition, so an insert never fails for want of a
day's partition. A partitioned table's primary key and unique constraints must hold the
partition key: the key becomes (id, occurred_at) and the duplicate check (account_id,
event_id, occurred_at); a retried beacon resends the same event, time included. The rows are
copied, ids kept, the id sequence carried over. Partitions are made for every day that has
events, the last 7 days (events are accepted up to 7 days late) and the next 7; housekeeping
makes the following ones and drops old ones (analytics/partitions.py).

SQLite stays as it is: one file, one writer, nothing to partition.
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from alembic import op
from sqlalchemy import text

revision: str = "e1e0da7a0001"
down_revision: str | None = "0b5e7a110002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Kept here rather than imported: a migration must not change when the app's code does.
DAYS_AROUND = 7
COLUMNS = (
    "id, account_id, event_id, kind, series_id, episode_id, session_id, position_ms, "
    "occurred_at, received_at"
)
FOREIGN_KEYS = """
    CONSTRAINT fk_playback_events_account_id_accounts FOREIGN KEY (account_id)
        REFERENCES accounts (id) ON DELETE CASCADE,
    CONSTRAINT fk_playback_events_episode_id_episodes FOREIGN KEY (episode_id)
        REFERENCES episodes (id) ON DELETE CASCADE,
    CONSTRAINT fk_playback_events_series_id_series FOREIGN KEY (series_id)
        REFERENCES series (id) ON DELETE CASCADE
"""


def _table(name: str, *, key: str, unique: str, partitioned: bool, sequence: str) -> str:
    return f"""
CREATE TABLE {name} (
    id BIGINT NOT NULL DEFAULT nextval('{sequence}'::regclass),
    account_id INTEGER NOT NULL,
    event_id VARCHAR(64) NOT NULL,
    kind VARCHAR(16) NOT NULL,
    series_id INTEGER NOT NULL,
    episode_id INTEGER NOT NULL,
    session_id VARCHAR(64) NOT NULL,
    position_ms INTEGER NOT NULL,
    occurred_at TIMESTAMP WITH TIME ZONE NOT NULL,
    received_at TIMESTAMP WITH TIME ZONE NOT NULL,
    CONSTRAINT pk_playback_events PRIMARY KEY ({key}),
    CONSTRAINT uq_playback_events_viewer_event UNIQUE ({unique}),
    {FOREIGN_KEYS}
){" PARTITION BY RANGE (occurred_at)" if partitioned else ""}
"""


def _set_aside(sequence_name: str) -> None:
    """Rename the table and its indexes' names (one namespace for a schema's tables and
    indexes), so the new table can take them."""
    op.execute("ALTER TABLE playback_events RENAME TO playback_events_old")
    for constraint in ("pk_playback_events", "uq_playback_events_viewer_event"):
        op.execute(
            f"ALTER TABLE playback_events_old RENAME CONSTRAINT {constraint} TO {constraint}_old"
        )
    op.execute(
        "ALTER INDEX ix_playback_events_series_time RENAME TO ix_playback_events_series_time_old"
    )
    # The ids go on from the same sequence, which must outlive the old table.
    op.execute(f"ALTER SEQUENCE {sequence_name} OWNED BY NONE")


def _sequence() -> str:
    name = op.get_bind().scalar(text("SELECT pg_get_serial_sequence('playback_events', 'id')"))
    assert name, "playback_events.id has no sequence"
    return str(name)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    sequence = _sequence()
    _set_aside(sequence)
    op.execute(
        _table(
            "playback_events",
            key="id, occurred_at",
            unique="account_id, event_id, occurred_at",
            partitioned=True,
            sequence=sequence,
        )
    )
    op.execute(
        "CREATE INDEX ix_playback_events_series_time ON playback_events (series_id, occurred_at)"
    )
    op.execute("CREATE TABLE playback_events_default PARTITION OF playback_events DEFAULT")
    stored = bind.execute(
        text("SELECT DISTINCT (occurred_at AT TIME ZONE 'UTC')::date FROM playback_events_old")
    ).scalars()
    today = datetime.now(UTC).date()
    around = {today + timedelta(days=n) for n in range(-DAYS_AROUND, DAYS_AROUND + 1)}
    for day in sorted(set(stored) | around):
        op.execute(_partition(day))
    op.execute(f"INSERT INTO playback_events ({COLUMNS}) SELECT {COLUMNS} FROM playback_events_old")
    op.execute("DROP TABLE playback_events_old")
    op.execute(f"ALTER SEQUENCE {sequence} OWNED BY playback_events.id")
    op.execute("ANALYZE playback_events")


def _partition(day: date) -> str:
    return (
        f"CREATE TABLE playback_events_{day:%Y%m%d} PARTITION OF playback_events "
        f"FOR VALUES FROM ('{day.isoformat()} 00:00:00+00') "
        f"TO ('{(day + timedelta(days=1)).isoformat()} 00:00:00+00')"
    )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    sequence = _sequence()
    _set_aside(sequence)
    op.execute(
        _table(
            "playback_events",
            key="id",
            unique="account_id, event_id",
            partitioned=False,
            sequence=sequence,
        )
    )
    op.execute(
        "CREATE INDEX ix_playback_events_series_time ON playback_events (series_id, occurred_at)"
    )
    # The same event id at two times was two events here; one table-wide key keeps the first.
    op.execute(
        f"INSERT INTO playback_events ({COLUMNS}) SELECT {COLUMNS} FROM playback_events_old "
        "ORDER BY id ON CONFLICT (account_id, event_id) DO NOTHING"
    )
    op.execute("DROP TABLE playback_events_old")  # and its partitions
    op.execute(f"ALTER SEQUENCE {sequence} OWNED BY playback_events.id")
