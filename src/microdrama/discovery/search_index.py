"""Search's index: one folded document per series, kept fresh, and the candidates each
database's trigram index retrieves for a query (SQLite FTS5 `trigram`, PostgreSQL pg_trgm).

The tables are made by the migration `d15c0e5a0002` and are not ORM models: only this module
reads and writes them, with the SQL each backend needs. Triggers put a series in
`search_stale` when its document's fields change (created, edited, its creator renamed);
`refresh_stale` rewrites those documents, and searches call it first.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Integer,
    MetaData,
    Select,
    Table,
    Text,
    column,
    delete,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.orm import Session

from microdrama.accounts.models import Account
from microdrama.catalog.models import Series
from microdrama.db import dialect_insert
from microdrama.discovery.search_text import Document, Query, fold

_metadata = MetaData()  # not Base.metadata: these tables are no ORM models (see above)

search_documents = Table(
    "search_documents",
    _metadata,
    Column("series_id", Integer, primary_key=True),
    Column("title", Text, nullable=False),
    Column("creator", Text, nullable=False),
    Column("tags", Text, nullable=False),
    Column("genre", Text, nullable=False),
    Column("synopsis", Text, nullable=False),
    # title, creator, tags and genre together: what typo matching reads.
    Column("names", Text, nullable=False),
)
# What the scorer reads of a document (search_text.Document).
_SCORED = (
    search_documents.c.series_id,
    search_documents.c.title,
    search_documents.c.creator,
    search_documents.c.tags,
    search_documents.c.genre,
    search_documents.c.synopsis,
)
search_stale = Table("search_stale", _metadata, Column("series_id", Integer, primary_key=True))
_fts = table("search_fts", column("rowid", Integer))

# Tables of the search index that the ORM does not describe: the two above, and the FTS5
# table with the shadow tables SQLite keeps its index in (search_fts_data, _idx, _docsize,
# _config). Alembic's comparison with the models leaves them out (migrations/env.py,
# tests/test_migrations.py).
_OUTSIDE_THE_MODELS = re.compile(r"search_(documents|stale|fts(_\w+)?)")

# How many candidates the index hands to the scorer: every series that shares a trigram with
# the query in a catalog of a few hundred, the best-indexed of a larger one.
CANDIDATES = 200
# pg_trgm's word similarity a field must reach for a query word (its default, 0.6, misses
# "bilionaire" in "billionaires").
PG_WORD_SIMILARITY = 0.3


def outside_the_models(
    _object: Any, name: str | None, type_: str, _reflected: bool, _compare_to: Any
) -> bool:
    """Alembic's include_object: False for the search index's tables (and their indexes)."""
    return not (type_ == "table" and name is not None and _OUTSIDE_THE_MODELS.fullmatch(name))


def document_row(series: Series, creator: str) -> dict[str, Any]:
    """The folded document of one series."""
    tags = fold(" ".join(str(tag) for tag in series.tags or []))
    fields = {
        "title": fold(series.title),
        "creator": fold(creator),
        "tags": tags,
        "genre": fold(series.genre),
    }
    return {
        "series_id": series.id,
        **fields,
        "synopsis": fold(series.synopsis or ""),
        "names": " ".join(value for value in fields.values() if value),
    }


def _claim_stale(db: Session, batch: int) -> list[int]:
    """Take up to `batch` series off the stale queue (PostgreSQL: skipping those another
    search is refreshing right now)."""
    queued = (
        select(search_stale.c.series_id)
        .order_by(search_stale.c.series_id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    claimed = db.execute(
        delete(search_stale)
        .where(search_stale.c.series_id.in_(queued.scalar_subquery()))
        .returning(search_stale.c.series_id)
    )
    return list(claimed.scalars())


def write_documents(db: Session, series_ids: list[int]) -> None:
    """(Re)write the documents of these series from their current fields."""
    rows = db.execute(
        select(Series, Account.display_name)
        .join(Account, Account.id == Series.owner_id)
        .where(Series.id.in_(series_ids))
    ).all()
    if not rows:
        return
    documents = [document_row(series, creator) for series, creator in rows]
    insert = dialect_insert(db.get_bind().dialect.name, search_documents)
    db.execute(
        insert.on_conflict_do_update(
            index_elements=["series_id"],
            set_={name: insert.excluded[name] for name in documents[0] if name != "series_id"},
        ),
        documents,
    )


def refresh_stale(db: Session, *, batch: int = 500) -> int:
    """Rewrite the documents of every series queued as stale; answers how many. A search
    with nothing queued pays one indexed read (and SQLite's write lock is not taken)."""
    if db.execute(select(search_stale.c.series_id).limit(1)).first() is None:
        return 0
    refreshed = 0
    while series_ids := _claim_stale(db, batch):
        write_documents(db, series_ids)
        refreshed += len(series_ids)
    return refreshed


def _inner_trigrams(word: str) -> set[str]:
    # FTS5's trigram tokenizer indexes the text's 3-letter runs, without pg_trgm's padding.
    return {word[i : i + 3] for i in range(len(word) - 2)}


def _starts_a_word(column_: ColumnElement[str], word: str) -> ColumnElement[bool]:
    # Folded text holds only letters, digits and single spaces: no LIKE wildcard to escape.
    return or_(column_.like(f"{word}%"), column_.like(f"% {word}%"))


def _short_words_only(query: Query, where: list[ColumnElement[bool]]) -> Select[Any]:
    """Words of one or two letters have no trigram: series with a word starting so, the
    titles first (a scan of the short `names`; a catalog's worth is a few milliseconds)."""
    docs = search_documents.c
    starts = [_starts_a_word(docs.names, w) for w in query.words]
    starts += [_starts_a_word(docs.synopsis, w) for w in query.words]
    in_title = or_(*(_starts_a_word(docs.title, w) for w in query.words))
    return (
        select(*_SCORED)
        .join(Series, Series.id == docs.series_id)
        .where(or_(*starts), *where)
        .order_by(in_title.desc(), docs.series_id.desc())
        .limit(CANDIDATES)
    )


def _sqlite_candidates(query: Query, where: list[ColumnElement[bool]]) -> Select[Any]:
    """FTS5: any trigram of a query word, best first by bm25 (a match in the names counts
    four times one in the synopsis)."""
    terms = sorted(set().union(*(_inner_trigrams(w) for w in query.long_words)))
    match = " OR ".join(f'"{term}"' for term in terms)  # letters and digits only: no quoting
    return (
        select(*_SCORED)
        .select_from(_fts)
        .join(search_documents, search_documents.c.series_id == _fts.c.rowid)
        .join(Series, Series.id == _fts.c.rowid)
        .where(text("search_fts MATCH :match").bindparams(match=match), *where)
        .order_by(func.bm25(literal_column("search_fts"), 4.0, 1.0))
        .limit(CANDIDATES)
    )


_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_$]*")


def _pg_trgm_schema(db: Session) -> str:
    """The schema pg_trgm is installed in (the migration puts it in `public`, which the
    tests' search path leaves out), looked up once per database connection."""
    connection = db.connection()
    schema = connection.info.get("pg_trgm_schema")
    if schema is None:
        schema = connection.execute(
            text(
                "SELECT n.nspname FROM pg_extension e"
                " JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
            )
        ).scalar_one()
        if not _SCHEMA_NAME.fullmatch(schema):
            raise RuntimeError(f"pg_trgm's schema has an unexpected name: {schema!r}")
        connection.info["pg_trgm_schema"] = schema
    return str(schema)


def _postgresql_candidates(
    db: Session, query: Query, where: list[ColumnElement[bool]]
) -> Select[Any]:
    """pg_trgm through the GIN indexes: a query word close to a word of the names (word
    similarity), or found in the synopsis; best first by the closest word."""
    schema = _pg_trgm_schema(db)
    db.execute(
        text("SELECT set_config('pg_trgm.word_similarity_threshold', :value, true)"),
        {"value": str(PG_WORD_SIMILARITY)},
    )
    docs = search_documents.c
    close = docs.names.op(f"OPERATOR({schema}.%>)", precedence=5, is_comparison=True)
    matches: list[ColumnElement[bool]] = [close(w) for w in query.long_words]
    matches += [docs.synopsis.like(f"%{w}%") for w in query.long_words]
    matches += [_starts_a_word(docs.names, w) for w in query.words if w not in query.long_words]
    word_similarity = getattr(func, schema).word_similarity
    closest = func.greatest(*(word_similarity(w, docs.names) for w in query.long_words))
    return (
        select(*_SCORED)
        .join(Series, Series.id == docs.series_id)
        .where(or_(*matches), *where)
        .order_by(closest.desc(), docs.series_id.desc())
        .limit(CANDIDATES)
    )


def candidates(db: Session, query: Query, where: list[ColumnElement[bool]]) -> list[Document]:
    """The documents of the series the index finds for the query among those `where` admits
    (conditions on Series), at most CANDIDATES, roughly best first."""
    if not query.words:
        return []
    if not query.long_words:
        statement = _short_words_only(query, where)
    elif db.get_bind().dialect.name == "postgresql":
        statement = _postgresql_candidates(db, query, where)
    else:
        statement = _sqlite_candidates(query, where)
    return [Document(**row._mapping) for row in db.execute(statement)]
