"""Search latency and typo recall on a generated catalog, on SQLite and PostgreSQL.

    .venv/bin/python bench/search.py [--series 1000,10000] [--queries 300] [--seed 14]
        [--backends sqlite,postgresql] [--database URL]

The catalog: `--series` published series (titles of 2 to 5 words drawn from micro-drama
tropes and made-up words in English, Spanish, Portuguese, German and Vietnamese, synopses of
25 to 40 words, 2 to 4 tags, 20 genres, one creator per 20 series), one ready episode each
(a tenth with a second one still transcoding), and about 20 episode views per series in the
last week for popularity. Rows are written with Core inserts into a fresh, migrated database
(PostgreSQL: a temporary schema on `--database`); then every document is built once
(`search_index.refresh_stale`, timed: what the first search after the migration does).

The queries, `--queries` of each kind, from series drawn at random: the exact title, its
first word cut to 4 letters (typing), the title with a typo (a letter dropped or doubled) in
each of its first two words, the creator's name, two letters, a word nothing has (the
answer then suggests trending series), and the title with its genre as a filter.
Each is one call of `discovery.search.search` in a session of its own, committed, as the API
route makes it (no HTTP, one client): the time covers the stale-queue check, the index's
candidates, scoring, popularity and the cards. "found@5": the share of title, typo and
filtered queries whose series is among the first 5 results (random titles repeat words, so
a typo can tie with other titles).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import bench_database, emit_json, percentile, search_queries, write_catalog


def measure(url: str, made: list[tuple]) -> tuple[float, dict[str, list[float]], dict[str, list]]:
    from microdrama.db import make_engine, make_sessionmaker, session_scope
    from microdrama.discovery import search, search_index
    from microdrama.storage import LocalStorage

    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    storage = LocalStorage(Path(tempfile.gettempdir()), "/media")
    started = time.perf_counter()
    with session_scope(factory) as db:
        search_index.refresh_stale(db)
    indexing_s = time.perf_counter() - started
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # As autovacuum does after a bulk load: the statistics, and the visibility map that
            # lets the pre-score read postings from their index alone (index-only scan).
            conn.execute(text("VACUUM ANALYZE"))
    times: dict[str, list[float]] = {}
    found: dict[str, list] = {}
    for kind, words, genre, meant in made:
        filters = search.Filters(genre=genre)
        started = time.perf_counter()
        with session_scope(factory) as db:
            answer = search.search(db=db, storage=storage, text=words, filters=filters)
        times.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
        if meant is not None:
            found.setdefault(kind, []).append(meant in [h.id for h in answer.items[:5]])
    engine.dispose()
    return indexing_s, times, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", default="1000,10000")
    parser.add_argument("--queries", type=int, default=300, help="of each kind")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--database", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    figures: dict[str, Any] = {}
    print(f"{'backend':<11}{'series':>7}  {'kind':<12}{'p50 ms':>8}{'p95 ms':>8}{'found@5':>9}")
    for count in [int(n) for n in args.series.split(",")]:
        for backend in args.backends.split(","):
            rng = random.Random(args.seed)
            with bench_database(backend, args.database, "md_bench_search") as url:
                planned = write_catalog(url, count, rng)
                made = search_queries(planned, args.queries, rng)
                indexing_s, times, found = measure(url, made)
            every = [t for kind_times in times.values() for t in kind_times]
            print(f"{backend:<11}{count:>7}  {'(indexing)':<12}{indexing_s * 1000:>8.0f}")
            for kind, kind_times in [*times.items(), ("all", every)]:
                share = found.get(kind)
                shown = f"{100 * sum(share) / len(share):>8.0f}%" if share else ""
                print(
                    f"{'':<18}  {kind:<12}{percentile(kind_times, 0.5):>8.1f}"
                    f"{percentile(kind_times, 0.95):>8.1f}{shown}"
                )
            figures[f"{backend}_{count}"] = {
                "indexing_s": round(indexing_s, 2),
                "p50_ms": round(percentile(every, 0.5), 2),
                "p95_ms": round(percentile(every, 0.95), 2),
                "found_at_5": {k: round(sum(v) / len(v), 3) for k, v in found.items()},
            }
    emit_json("search", **figures)


if __name__ == "__main__":
    main()
