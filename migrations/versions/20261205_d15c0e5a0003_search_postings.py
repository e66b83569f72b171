"""search postings: the words each series holds and the vocabulary's trigram index replace
the trigram index over whole documents

Revision ID: d15c0e5a0003
Revises: d15c0e5a0002
Create Date: 2026-12-05 06:30:00

A trigram index over whole synopses grows with the catalog and hands the scorer whichever 200
series share a trigram with the query; at 10,000 series that missed good answers and cost a
scan. Now `search_terms` holds the words of each series' folded document (postings, with the
weight of their best field) and `search_vocabulary` every word indexed, with the trigram index
over words only: an FTS5 table with the trigram tokenizer on SQLite (kept in step by a
trigger), a pg_trgm GIN index on PostgreSQL, where words sort by code point so a prefix is one
range of the B-tree. `search_documents` loses `names` (typos are matched on words now).

The documents are derived data: they are dropped and rebuilt, every series marked stale, and
the search service rewrites them at the next search. The triggers that mark series stale
(revision d15c0e5a0002) stay as they are.
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import Connection, text

revision: str = "d15c0e5a0003"
down_revision: str | None = "d15c0e5a0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _new_tables(words: str) -> list[str]:
    """The tables; `words` is how a column of words is declared (its collation)."""
    return [
        """CREATE TABLE search_documents (
            series_id INTEGER NOT NULL PRIMARY KEY REFERENCES series (id) ON DELETE CASCADE,
            title TEXT NOT NULL,
            creator TEXT NOT NULL,
            tags TEXT NOT NULL,
            genre TEXT NOT NULL,
            synopsis TEXT NOT NULL
        )""",
        f"""CREATE TABLE search_terms (
            term {words} NOT NULL,
            series_id INTEGER NOT NULL REFERENCES series (id) ON DELETE CASCADE,
            weight INTEGER NOT NULL,
            PRIMARY KEY (term, series_id)
        )""",
        "CREATE INDEX ix_search_terms_series ON search_terms (series_id)",
        f"CREATE TABLE search_vocabulary (term {words} NOT NULL PRIMARY KEY)",
    ]


_NEW_SQLITE_INDEX = [
    """CREATE VIRTUAL TABLE search_vocabulary_fts USING fts5(
        term, content='search_vocabulary', content_rowid='rowid', tokenize='trigram'
    )""",
    # Words are only ever added to the vocabulary.
    """CREATE TRIGGER search_vocabulary_insert AFTER INSERT ON search_vocabulary BEGIN
        INSERT INTO search_vocabulary_fts (rowid, term) VALUES (NEW.rowid, NEW.term);
    END""",
]

_OLD_DOCUMENTS = """CREATE TABLE search_documents (
    series_id INTEGER NOT NULL PRIMARY KEY REFERENCES series (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    creator TEXT NOT NULL,
    tags TEXT NOT NULL,
    genre TEXT NOT NULL,
    synopsis TEXT NOT NULL,
    names TEXT NOT NULL
)"""

_OLD_SQLITE_INDEX = [
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
]


def _run(connection: Connection, statements: list[str]) -> None:
    for statement in statements:
        connection.execute(text(statement))


def _trgm_schema(connection: Connection) -> str:
    # Installed by revision d15c0e5a0002.
    return str(
        connection.execute(
            text(
                "SELECT n.nspname FROM pg_extension e"
                " JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
            )
        ).scalar_one()
    )


def _all_stale(connection: Connection) -> None:
    connection.execute(text("DELETE FROM search_stale"))
    connection.execute(text("INSERT INTO search_stale (series_id) SELECT id FROM series"))


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        for trigger in ("insert", "delete", "update"):
            connection.execute(text(f"DROP TRIGGER search_documents_{trigger}"))
        connection.execute(text("DROP TABLE search_fts"))
        connection.execute(text("DROP TABLE search_documents"))
        _run(connection, _new_tables("TEXT"))
        _run(connection, _NEW_SQLITE_INDEX)
    else:
        connection.execute(text("DROP TABLE search_documents"))  # and its two GIN indexes
        _run(connection, _new_tables('TEXT COLLATE "C"'))
        connection.execute(
            text(
                "CREATE INDEX ix_search_vocabulary_trgm ON search_vocabulary"
                f' USING gin (term "{_trgm_schema(connection)}".gin_trgm_ops)'
            )
        )
    _all_stale(connection)


def downgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "sqlite":
        connection.execute(text("DROP TRIGGER search_vocabulary_insert"))
        connection.execute(text("DROP TABLE search_vocabulary_fts"))
    for table in ("search_vocabulary", "search_terms", "search_documents"):
        connection.execute(text(f"DROP TABLE {table}"))
    connection.execute(text(_OLD_DOCUMENTS))
    if connection.dialect.name == "sqlite":
        _run(connection, _OLD_SQLITE_INDEX)
    else:
        schema = _trgm_schema(connection)
        for column in ("names", "synopsis"):
            connection.execute(
                text(
                    f"CREATE INDEX ix_search_documents_{column}_trgm ON search_documents"
                    f' USING gin ({column} "{schema}".gin_trgm_ops)'
                )
            )
    _all_stale(connection)
