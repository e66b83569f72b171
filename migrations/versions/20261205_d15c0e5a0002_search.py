"""search: a folded document per series, its trigram index, and a queue of stale documents

Revision ID: d15c0e5a0002
Revises: d15c0e5a0001
Create Date: 2026-12-05 09:00:00

`search_documents` holds each series' title, creator, tags, genre and synopsis folded by
discovery/search_text.py (lower case, no accents), which the database cannot do the same way
on both backends; `names` is the short fields together, what typo matching reads. Triggers
put a series in `search_stale` when a field of its document changes (a new series, an edit,
its creator renamed), and the search service refreshes those documents before it searches.
The index: an FTS5 table with the trigram tokenizer over the documents on SQLite (kept in step
by triggers), GIN trigram indexes (pg_trgm) on PostgreSQL.

These tables are not ORM models (only the search service reads them, with SQL of its own):
migrations/env.py and tests/test_migrations.py leave them out of the comparison with the
models (`microdrama.discovery.search_schema.outside_the_models`).

SQLite drops a table's triggers when Alembic's batch mode rebuilds it: a later revision that
batch-alters `series` or `accounts` must create the triggers below again
(tests/discovery/test_search_index.py checks that they exist at head).
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

revision: str = "d15c0e5a0002"
down_revision: str | None = "d15c0e5a0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = [
    """CREATE TABLE search_documents (
        series_id INTEGER NOT NULL PRIMARY KEY REFERENCES series (id) ON DELETE CASCADE,
        title TEXT NOT NULL,
        creator TEXT NOT NULL,
        tags TEXT NOT NULL,
        genre TEXT NOT NULL,
        synopsis TEXT NOT NULL,
        names TEXT NOT NULL
    )""",
    """CREATE TABLE search_stale (
        series_id INTEGER NOT NULL PRIMARY KEY REFERENCES series (id) ON DELETE CASCADE
    )""",
]

_SQLITE_INDEX = [
    """CREATE VIRTUAL TABLE search_fts USING fts5(
        names, synopsis, content='search_documents', content_rowid='series_id',
        tokenize='trigram'
    )""",
    """CREATE TRIGGER search_documents_insert AFTER INSERT ON search_documents BEGIN
        INSERT INTO search_fts (rowid, names, synopsis)
        VALUES (NEW.series_id, NEW.names, NEW.synopsis);
    END""",
    """CREATE TRIGGER search_documents_delete AFTER DELETE ON search_documents BEGIN
        INSERT INTO search_fts (search_fts, rowid, names, synopsis)
        VALUES ('delete', OLD.series_id, OLD.names, OLD.synopsis);
    END""",
    """CREATE TRIGGER search_documents_update AFTER UPDATE ON search_documents BEGIN
        INSERT INTO search_fts (search_fts, rowid, names, synopsis)
        VALUES ('delete', OLD.series_id, OLD.names, OLD.synopsis);
        INSERT INTO search_fts (rowid, names, synopsis)
        VALUES (NEW.series_id, NEW.names, NEW.synopsis);
    END""",
    """CREATE TRIGGER search_stale_new_series AFTER INSERT ON series BEGIN
        INSERT OR IGNORE INTO search_stale (series_id) VALUES (NEW.id);
    END""",
    """CREATE TRIGGER search_stale_edited_series
    AFTER UPDATE OF title, synopsis, genre, tags, owner_id ON series
    WHEN OLD.title IS NOT NEW.title OR OLD.synopsis IS NOT NEW.synopsis
        OR OLD.genre IS NOT NEW.genre OR OLD.tags IS NOT NEW.tags
        OR OLD.owner_id IS NOT NEW.owner_id
    BEGIN
        INSERT OR IGNORE INTO search_stale (series_id) VALUES (NEW.id);
    END""",
    """CREATE TRIGGER search_stale_renamed_creator AFTER UPDATE OF display_name ON accounts
    WHEN OLD.display_name IS NOT NEW.display_name
    BEGIN
        INSERT OR IGNORE INTO search_stale (series_id)
        SELECT id FROM series WHERE owner_id = NEW.id;
    END""",
]

_POSTGRESQL_TRIGGERS = [
    """CREATE FUNCTION search_stale_series() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO search_stale (series_id) VALUES (NEW.id) ON CONFLICT DO NOTHING;
        RETURN NULL;
    END $$""",
    """CREATE FUNCTION search_stale_creator() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO search_stale (series_id) SELECT id FROM series WHERE owner_id = NEW.id
        ON CONFLICT DO NOTHING;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER search_stale_new_series AFTER INSERT ON series
    FOR EACH ROW EXECUTE FUNCTION search_stale_series()""",
    """CREATE TRIGGER search_stale_edited_series
    AFTER UPDATE OF title, synopsis, genre, tags, owner_id ON series FOR EACH ROW
    WHEN (OLD.title IS DISTINCT FROM NEW.title OR OLD.synopsis IS DISTINCT FROM NEW.synopsis
        OR OLD.genre IS DISTINCT FROM NEW.genre OR OLD.tags::text IS DISTINCT FROM NEW.tags::text
        OR OLD.owner_id IS DISTINCT FROM NEW.owner_id)
    EXECUTE FUNCTION search_stale_series()""",
    """CREATE TRIGGER search_stale_renamed_creator AFTER UPDATE OF display_name ON accounts
    FOR EACH ROW WHEN (OLD.display_name IS DISTINCT FROM NEW.display_name)
    EXECUTE FUNCTION search_stale_creator()""",
]


def _run(connection: Connection, statements: list[str]) -> None:
    for statement in statements:
        connection.execute(text(statement))


def _trgm_schema(connection: Connection) -> str | None:
    return connection.execute(
        text(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
            " WHERE e.extname = 'pg_trgm'"
        )
    ).scalar()


def _ensure_pg_trgm(connection: Connection) -> str:
    """The schema holding pg_trgm, installing it in `public` if it is not there yet. In
    `public`, never in the first schema of the search path: the tests run each in a schema of
    their own and drop it at the end, which would drop an extension installed there with it.
    Another migration (a parallel test run) may install it at the same moment: then this one
    fails on the catalog's unique name, and finds the other's."""
    schema = _trgm_schema(connection)
    if schema is None:
        try:
            with connection.begin_nested():
                connection.execute(
                    text("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
                )
        except DBAPIError:
            pass
        schema = _trgm_schema(connection)
    if schema is None:
        raise RuntimeError("search needs the pg_trgm extension: CREATE EXTENSION pg_trgm")
    return schema


def upgrade() -> None:
    connection = op.get_bind()
    _run(connection, _TABLES)
    if connection.dialect.name == "sqlite":
        _run(connection, _SQLITE_INDEX)
    else:
        schema = _ensure_pg_trgm(connection)
        for column in ("names", "synopsis"):
            connection.execute(
                text(
                    f"CREATE INDEX ix_search_documents_{column}_trgm ON search_documents"
                    f' USING gin ({column} "{schema}".gin_trgm_ops)'
                )
            )
        _run(connection, _POSTGRESQL_TRIGGERS)
    # Every series already there gets its document at the first search.
    connection.execute(text("INSERT INTO search_stale (series_id) SELECT id FROM series"))


def downgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        for trigger in (
            "search_stale_renamed_creator",
            "search_stale_edited_series",
            "search_stale_new_series",
            "search_documents_update",
            "search_documents_delete",
            "search_documents_insert",
        ):
            connection.execute(text(f"DROP TRIGGER {trigger}"))
        connection.execute(text("DROP TABLE search_fts"))
    else:
        connection.execute(text("DROP TRIGGER search_stale_renamed_creator ON accounts"))
        connection.execute(text("DROP TRIGGER search_stale_edited_series ON series"))
        connection.execute(text("DROP TRIGGER search_stale_new_series ON series"))
        connection.execute(text("DROP FUNCTION search_stale_creator()"))
        connection.execute(text("DROP FUNCTION search_stale_series()"))
    # pg_trgm stays: other schemas of the same database may use it.
    connection.execute(text("DROP TABLE search_stale"))
    connection.execute(text("DROP TABLE search_documents"))
