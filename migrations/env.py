"""Alembic environment: runs against a connection handed in by microdrama, or the settings URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import microdrama.models  # noqa: F401  (registers every table on Base.metadata)
from microdrama.config import get_settings
from microdrama.db import Base, make_engine
from microdrama.models import outside_the_models

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        # Search's document tables and SQLite's FTS5 table (with the shadow tables it keeps its
        # index in) are made by their migration and read with SQL of their own, not the ORM:
        # autogenerate must neither drop them nor compare them with models they do not have.
        include_object=outside_the_models,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = make_engine(get_settings().effective_database_url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()
