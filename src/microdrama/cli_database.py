"""The command line's way into the database: a schema at the newest revision, or a plain word."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from microdrama.config import Settings
from microdrama.db import (
    make_engine,
    make_sessionmaker,
    schema_is_current,
    session_scope,
    upgrade_database,
)


def migrated_engine(settings: Settings) -> Engine:
    """An engine on a schema at the newest revision.

    SQLite files belong to this install (the embedded default), so they are simply migrated;
    a shared server such as PostgreSQL is upgraded only on purpose (`microdrama migrate`, run
    once per deploy), so a command finding it behind stops with that advice instead of failing
    later on a missing table.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.effective_database_url)
    if engine.dialect.name == "sqlite":
        upgrade_database(engine)
        return engine
    current = schema_is_current(engine)
    if not current:
        engine.dispose()
        where = engine.url.render_as_string(hide_password=True)
        typer.echo(
            f"error: the database at {where} is not at the newest schema; "
            "run `microdrama migrate` first",
            err=True,
        )
        raise typer.Exit(1)
    return engine


@contextmanager
def open_database(settings: Settings) -> Iterator[sessionmaker[Session]]:
    """Sessions on the migrated database for the length of a command; the engine is disposed
    of when the block ends, however it ends."""
    engine = migrated_engine(settings)
    try:
        yield make_sessionmaker(engine)
    finally:
        engine.dispose()


@contextmanager
def open_session(settings: Settings) -> Iterator[Session]:
    """One transaction on the migrated database: committed if the block ends normally."""
    with open_database(settings) as sessions, session_scope(sessions) as db:
        yield db
