"""db.after_commit: work outside the database (deleting a video's files) happens only once the
transaction that made it right has committed."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from microdrama.db import after_commit


def test_an_action_runs_after_the_commit_and_never_after_a_rollback(db: Session) -> None:
    ran: list[str] = []
    db.execute(text("select 1"))
    after_commit(db, lambda: ran.append("undone"))
    db.rollback()
    db.execute(text("select 1"))
    after_commit(db, lambda: ran.append("kept"))
    savepoint = db.begin_nested()
    savepoint.rollback()  # a savepoint's rollback leaves the transaction's actions alone
    assert ran == []

    db.commit()

    assert ran == ["kept"]
    db.commit()
    assert ran == ["kept"]  # once
