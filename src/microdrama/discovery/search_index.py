"""Search's index: each series' folded document and the words it holds (postings), the
vocabulary of every word indexed with a trigram index over it (SQLite FTS5 `trigram`,
PostgreSQL pg_trgm), kept fresh from a queue of stale series; and the candidates of a query.

A query word stands for the indexed words that answer it: itself, its completions (a range
of the vocabulary's B-tree) and its near spellings (the trigram index). The postings of those
words give each series an integer pre-score, in the same SQL on both databases (but for how
the words are handed in: one JSON parameter); the best CANDIDATES series go to the scorer
(search_text.py). So both databases hand the scorer the same candidates, and a common word
costs one indexed range of postings, not a scan.

The tables are made by the migrations `d15c0e5a0002`, `d15c0e5a0003` and `5ea5c0a10001` (the
postings' index carries their weight) and are no ORM models: only this module reads and
writes them. Triggers put a series in `search_stale` when its document's fields change
(created, edited, its creator renamed); `refresh_stale` rewrites those documents, and
searches call it first.
"""

from __future__ import annotations

import json
import re
import weakref
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    Integer,
    MetaData,
    Table,
    Text,
    and_,
    column,
    delete,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from microdrama.accounts.models import Account
from microdrama.cache import TTLCache
from microdrama.catalog.models import Series
from microdrama.db import after_commit, dialect_insert
from microdrama.discovery.search_text import (
    MIN_TYPO_LENGTH,
    WEIGHTS,
    Document,
    Expansion,
    Query,
    document,
    document_terms,
    expansions,
    fold,
)

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
)
# One row a word a series holds, with the weight of its best field (percent).
search_terms = Table(
    "search_terms",
    _metadata,
    Column("term", Text, primary_key=True),
    Column("series_id", Integer, primary_key=True),
    Column("weight", Integer, nullable=False),
)
# Every word ever indexed (a word no series holds any more only costs a row).
search_vocabulary = Table("search_vocabulary", _metadata, Column("term", Text, primary_key=True))
search_stale = Table("search_stale", _metadata, Column("series_id", Integer, primary_key=True))
_vocabulary_fts = table("search_vocabulary_fts", column("rowid", Integer))

# Tables of the search index that the ORM does not describe: the four above, and on SQLite
# the FTS5 table with the shadow tables it keeps its index in (search_vocabulary_fts_data,
# _idx, _docsize, _config). Alembic's comparison with the models leaves them out
# (migrations/env.py, tests/test_migrations.py).
_OUTSIDE_THE_MODELS = re.compile(r"search_(documents|stale|terms|vocabulary(_fts(_\w+)?)?)")

# How many series the pre-score hands to the scorer, and how many of the best by pre-score
# are checked against the conditions first (see `candidates`).
CANDIDATES = 200
PRESCREENED = 2 * CANDIDATES
# How many completions and how many near spellings of a query word the vocabulary gives.
COMPLETIONS = 40
NEAR_SPELLINGS = 60
# pg_trgm's similarity a word must reach to be a near spelling (its default, 0.3).
PG_SIMILARITY = 0.3
SYNOPSIS_WEIGHT = round(WEIGHTS["synopsis"] * 100)  # the weight of a posting, in percent
# What the scorer reads of a document (search_text.Document).
_SCORED = (
    search_documents.c.series_id,
    search_documents.c.title,
    search_documents.c.creator,
    search_documents.c.tags,
    search_documents.c.genre,
    search_documents.c.synopsis,
)


def outside_the_models(
    _object: Any, name: str | None, type_: str, _reflected: bool, _compare_to: Any
) -> bool:
    """Alembic's include_object: False for the search index's tables (and their indexes)."""
    return not (type_ == "table" and name is not None and _OUTSIDE_THE_MODELS.fullmatch(name))


def document_row(series: Series, creator: str) -> dict[str, Any]:
    """The folded document of one series."""
    return {
        "series_id": series.id,
        "title": fold(series.title),
        "creator": fold(creator),
        "tags": fold(" ".join(str(tag) for tag in series.tags or [])),
        "genre": fold(series.genre),
        "synopsis": fold(series.synopsis or ""),
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
    """(Re)write the documents and postings of these series from their current fields."""
    rows = db.execute(
        select(Series, Account.display_name)
        .join(Account, Account.id == Series.owner_id)
        .where(Series.id.in_(series_ids))
    ).all()
    if not rows:
        return
    dialect = db.get_bind().dialect.name
    documents = [document_row(series, creator) for series, creator in rows]
    insert = dialect_insert(dialect, search_documents)
    db.execute(
        insert.on_conflict_do_update(
            index_elements=["series_id"],
            set_={name: insert.excluded[name] for name in documents[0] if name != "series_id"},
        ),
        documents,
    )
    postings = [
        {"term": term, "series_id": document["series_id"], "weight": weight}
        for document in documents
        for term, weight in document_terms(
            {name: value for name, value in document.items() if name != "series_id"}
        ).items()
    ]
    db.execute(delete(search_terms).where(search_terms.c.series_id.in_(series_ids)))
    if postings:
        db.execute(search_terms.insert(), postings)
        # In one order, so two refreshes adding the same new words never wait on each other
        # in a circle.
        words = [{"term": term} for term in sorted({p["term"] for p in postings})]
        db.execute(dialect_insert(dialect, search_vocabulary).on_conflict_do_nothing(), words)
        # Now, for the search that refreshed, and again once committed, for any search that
        # kept the old expansions meanwhile.
        kept = _kept_words(db)
        kept.clear()
        after_commit(db, kept.clear)


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


def _completions(db: Session, word: str) -> list[str]:
    """The vocabulary's words that start with `word`, the shortest first (a B-tree range:
    PostgreSQL's column sorts by code point, like SQLite's)."""
    start = (
        select(search_vocabulary.c.term)
        .where(search_vocabulary.c.term >= word, search_vocabulary.c.term < word + "\U0010ffff")
        .order_by(search_vocabulary.c.term)
        .limit(COMPLETIONS * 10)
        .subquery()
    )
    return list(
        db.scalars(
            select(start.c.term)
            .order_by(func.length(start.c.term), start.c.term)
            .limit(COMPLETIONS)
        )
    )


def _sqlite_near_spellings(db: Session, word: str) -> list[str]:
    # FTS5 trigram: any 3-letter run of the word, the words sharing the most (rarest) first.
    runs = sorted({word[i : i + 3] for i in range(len(word) - 2)})
    match = " OR ".join(f'"{run}"' for run in runs)  # letters and digits only: no quoting
    return list(
        db.scalars(
            select(search_vocabulary.c.term)
            .select_from(_vocabulary_fts)
            .join(
                search_vocabulary,
                literal_column("search_vocabulary.rowid") == _vocabulary_fts.c.rowid,
            )
            .where(text("search_vocabulary_fts MATCH :match").bindparams(match=match))
            .order_by(func.bm25(literal_column("search_vocabulary_fts")))
            .limit(NEAR_SPELLINGS)
        )
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


def _postgresql_near_spellings(db: Session, word: str) -> list[str]:
    # pg_trgm through the GIN index: similar words (pg_trgm.similarity_threshold), closest first.
    schema = _pg_trgm_schema(db)
    term = search_vocabulary.c.term
    similar = term.op(f"OPERATOR({schema}.%)", precedence=5, is_comparison=True)
    return list(
        db.scalars(
            select(term)
            .where(similar(word))
            .order_by(getattr(func, schema).similarity(term, word).desc(), term)
            .limit(NEAR_SPELLINGS)
        )
    )


# A query word's expansions (the indexed words answering it: itself, its completions and near
# spellings), kept per engine for this long: the words people type repeat from query to query,
# and looking them up was an eighth of an uncached search on SQLite (pg_trgm: ≈ 4 ms a word).
# A word another process indexes since is found as typed at once, and by prefix or typo within
# this time; this process's own new words clear it once committed (`write_documents`).
WORDS_SECONDS = 30.0
_words_of: weakref.WeakKeyDictionary[Engine, TTLCache[list[Expansion]]] = (
    weakref.WeakKeyDictionary()
)


def _kept_words(db: Session) -> TTLCache[list[Expansion]]:
    engine = db.get_bind().engine
    kept = _words_of.get(engine)
    if kept is None:
        kept = _words_of.setdefault(
            engine, TTLCache(WORDS_SECONDS, max_stale_seconds=0, max_entries=20_000)
        )
    return kept


def _expansions(db: Session, word: str, *, postgresql: bool) -> list[Expansion]:
    """The indexed words that answer a query word, best first, among its completions and
    near spellings."""
    vocabulary = {word, *_completions(db, word)}
    if len(word) >= MIN_TYPO_LENGTH:
        if postgresql:
            db.execute(
                text("SELECT set_config('pg_trgm.similarity_threshold', :value, true)"),
                {"value": str(PG_SIMILARITY)},
            )
            vocabulary.update(_postgresql_near_spellings(db, word))
        else:
            vocabulary.update(_sqlite_near_spellings(db, word))
    return expansions(word, vocabulary)


def _wanted(db: Session, query: Query) -> list[tuple[int, str, int, bool]]:
    """(query word's place, indexed word, how well it answers per mille, only as a typo)."""
    postgresql = db.get_bind().dialect.name == "postgresql"
    kept = _kept_words(db)
    wanted = []
    for place, word in enumerate(query.words):
        answers = kept.get(word)
        if answers is None:
            answers = kept.put(word, _expansions(db, word, postgresql=postgresql))
        wanted += [(place, e.term, e.match, e.typo) for e in answers]
    return wanted


def candidates(
    db: Session, query: Query, where: list[ColumnElement[bool]], *, filtered: bool = False
) -> list[Document]:
    """The documents of the series that answer the query best by their postings, among those
    `where` admits (conditions on Series): at most CANDIDATES, for the scorer.

    Without a filter (`where` is what the feed shows, which most series pass), the conditions
    are checked on the PRESCREENED best by pre-score first: when CANDIDATES of those pass, they
    are the answer, the order (pre-score, then id) being total. Otherwise, and with a filter,
    every series with a posting is checked. The same answer either way, without checking
    thousands of series for a common word."""
    wanted = _wanted(db, query) if query.words else []
    if not wanted:
        return []
    totals = _totals(wanted, db.get_bind().dialect.name)
    order = (totals.c.total.desc(), totals.c.series_id.desc())
    best: list[int] | None = None
    if not filtered:
        ranked = list(db.scalars(select(totals.c.series_id).order_by(*order).limit(PRESCREENED)))
        admitted = set(db.scalars(select(Series.id).where(Series.id.in_(ranked), *where)))
        best = [series_id for series_id in ranked if series_id in admitted][:CANDIDATES]
        if len(best) < CANDIDATES and len(ranked) == PRESCREENED:
            best = None  # too few passed among the first: check them all
    if best is None:
        best = list(
            db.scalars(
                select(totals.c.series_id)
                .join(Series, Series.id == totals.c.series_id)
                .where(*where)
                .order_by(*order)
                .limit(CANDIDATES)
            )
        )
    if not best:
        return []
    rows = db.execute(select(*_SCORED).where(search_documents.c.series_id.in_(best)))
    return [document(*row) for row in rows]


# The rows of `wanted` as a table, from one JSON parameter: a statement of the same text for
# every query, compiled once (SQLAlchemy caches it), where a VALUES list of up to 240 rows was
# compiled again for each query with its 1,000 parameters.
_ASKED_SQL = {
    "sqlite": """SELECT json_extract(value, '$[0]') AS place, json_extract(value, '$[1]') AS term,
        json_extract(value, '$[2]') AS "match", json_extract(value, '$[3]') AS typo
        FROM json_each(:asked)""",
    "postgresql": """SELECT place, term, "match", typo
        FROM jsonb_to_recordset(CAST(:asked AS jsonb))
        AS asked(place integer, term text, "match" integer, typo boolean)""",
}


def _asked(wanted: list[tuple[int, str, int, bool]], dialect: str) -> Any:
    """`wanted` as the table `asked` (place, term, match, typo)."""
    if dialect == "postgresql":
        rows: list[Any] = [
            {"place": p, "term": t, "match": m, "typo": typo} for p, t, m, typo in wanted
        ]
    else:
        rows = [list(row) for row in wanted]
    return (
        text(_ASKED_SQL[dialect])
        .bindparams(asked=json.dumps(rows))
        .columns(
            column("place", Integer),
            column("term", Text),
            column("match", Integer),
            column("typo", Boolean),
        )
        .cte("asked")
    )


def _totals(wanted: list[tuple[int, str, int, bool]], dialect: str) -> Any:
    """Each series' pre-score: per query word its best indexed word in its best field."""
    asked = _asked(wanted, dialect)
    terms = search_terms.c
    # A typo counts in the short fields only, as in the scorer: a posting of weight
    # SYNOPSIS_WEIGHT is a word only the synopsis holds.
    counts = or_(~asked.c.typo, terms.weight > SYNOPSIS_WEIGHT)
    # Each query word counts once a series: through its best indexed word in its best field.
    per_word = (
        select(terms.series_id, func.max(terms.weight * asked.c.match).label("score"))
        .join(asked, and_(asked.c.term == terms.term, counts))
        .group_by(terms.series_id, asked.c.place)
        .subquery()
    )
    return (
        select(per_word.c.series_id, func.sum(per_word.c.score).label("total"))
        .group_by(per_word.c.series_id)
        .subquery()
    )
