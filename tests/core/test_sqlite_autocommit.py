"""db.sqlite_autocommit: a statement run in it is committed when it returns (the events route
stores a batch in one such call); inside a transaction it refuses rather than commit it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from microdrama.db import sqlite_autocommit


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE IF NOT EXISTS t (v INTEGER UNIQUE)")
    conn.commit()
    return conn


def test_a_statement_is_committed_when_it_returns(tmp_path: Path) -> None:
    writer, reader = _connect(tmp_path / "a.db"), _connect(tmp_path / "a.db")
    with sqlite_autocommit(writer):
        stored = writer.execute("INSERT INTO t VALUES (1), (2), (2) ON CONFLICT DO NOTHING")
        assert not writer.in_transaction
    assert stored.rowcount == 2  # the repeat stored nothing
    assert reader.execute("SELECT count(*) FROM t").fetchone() == (2,)  # no commit sent

    writer.execute("INSERT INTO t VALUES (3)")  # the usual mode again: a transaction opens
    assert writer.in_transaction
    writer.rollback()
    assert reader.execute("SELECT count(*) FROM t").fetchone() == (2,)


def test_inside_a_transaction_it_refuses_and_commits_nothing(tmp_path: Path) -> None:
    writer, reader = _connect(tmp_path / "b.db"), _connect(tmp_path / "b.db")
    writer.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(RuntimeError), sqlite_autocommit(writer):
        pass
    writer.rollback()
    assert reader.execute("SELECT count(*) FROM t").fetchone() == (0,)
