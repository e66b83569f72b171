"""Ingestion writes times into SQLite itself: they must be exactly what SQLAlchemy writes, or
dashboards' date ranges (string comparisons there) would miss or double-count events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter
from sqlalchemy import Column, MetaData, Table, create_engine, insert, select, text

from microdrama.analytics.service import sqlite_time
from microdrama.db import UTCDateTime

_engine = create_engine("sqlite://")
_table = Table("t", MetaData(), Column("at", UTCDateTime()))
_table.create(_engine)
_PARSE = TypeAdapter(datetime)

offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
times = st.datetimes(
    min_value=datetime(2001, 1, 2), max_value=datetime(2098, 12, 30), timezones=offsets
)


def stored_by_sqlalchemy(value: datetime) -> str:
    with _engine.begin() as conn:
        conn.execute(_table.delete())
        conn.execute(insert(_table).values(at=value))
        return str(conn.scalar(select(text("at")).select_from(_table)))


@given(times)
def test_a_time_is_written_as_sqlalchemy_writes_it(value: datetime) -> None:
    assert sqlite_time(value) == stored_by_sqlalchemy(value)


@given(times)
def test_a_time_parsed_from_a_players_json_is_written_as_sqlalchemy_writes_it(
    value: datetime,
) -> None:
    utc = value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    for sent in (value.isoformat(), utc):
        parsed = _PARSE.validate_json(f'"{sent}"')
        assert sqlite_time(parsed) == stored_by_sqlalchemy(parsed)
