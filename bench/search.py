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
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import emit_json, migrated_sqlite, percentile

TROPES = [
    "vampire",
    "billionaire",
    "bride",
    "contract",
    "marriage",
    "ceo",
    "revenge",
    "wife",
    "secret",
    "baby",
    "alpha",
    "mate",
    "werewolf",
    "heiress",
    "twin",
    "mistaken",
    "identity",
    "second",
    "chance",
    "midnight",
    "queen",
    "king",
    "princess",
    "doctor",
    "boss",
    "love",
    "heart",
    "blood",
    "moon",
    "storm",
    "fire",
    "shadow",
    "divorce",
    "husband",
    "betrayal",
    "return",
    "café",
    "noche",
    "venganza",
    "corazón",
    "amor",
    "esposa",
    "segredo",
    "herdeira",
    "rache",
    "erbin",
    "đêm",
    "trăng",
    "máu",
]
GENRES = [f"genre{n:02d}" for n in range(20)]
LANGUAGES = ["en", "es", "pt", "de", "vi"]
SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ra",
    "ne",
    "su",
    "ti",
    "va",
    "do",
    "re",
    "sa",
    "lu",
    "be",
    "no",
    "chi",
    "ma",
    "ri",
    "te",
    "zo",
    "an",
    "el",
    "or",
    "is",
    "ul",
]
CHUNK = 2_000


def _made_up(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))


def _vocabulary(rng: random.Random, size: int = 5_000) -> list[str]:
    return sorted({_made_up(rng) for _ in range(size)})


def _title(rng: random.Random, vocabulary: list[str]) -> str:
    words = [rng.choice(TROPES) if rng.random() < 0.6 else rng.choice(vocabulary)]
    words += [
        rng.choice(TROPES) if rng.random() < 0.5 else rng.choice(vocabulary)
        for _ in range(rng.randint(1, 4))
    ]
    return " ".join(w.capitalize() for w in words)


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 5:
        return word
    at = rng.randrange(1, len(word) - 1)
    return word[:at] + word[at + 1 :] if rng.random() < 0.5 else word[:at] + word[at] + word[at:]


@contextmanager
def database(backend: str, pg_base: str) -> Iterator[str]:
    """A fresh, migrated database of the backend (a temporary schema on PostgreSQL)."""
    from microdrama.db import make_engine, upgrade_database

    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="md-bench-search-") as tmp:
            yield migrated_sqlite(Path(tmp))
        return
    schema = f"md_bench_search_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(pg_base).update_query_dict({"options": f"-csearch_path={schema}"})
    rendered = url.render_as_string(hide_password=False)
    engine = make_engine(rendered)
    upgrade_database(engine)
    engine.dispose()
    try:
        yield rendered
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _insert(conn: Any, table: Any, rows: list[dict[str, Any]]) -> list[Any]:
    ids: list[Any] = []
    for start in range(0, len(rows), CHUNK):
        result = conn.execute(
            insert(table).returning(table.id, sort_by_parameter_order=True),
            rows[start : start + CHUNK],
        )
        ids += list(result.scalars())
    return ids


def write_catalog(url: str, count: int, rng: random.Random) -> list[dict[str, Any]]:
    """The generated series as rows; answers what each query is drawn from."""
    import microdrama.models  # noqa: F401  (every table, for the foreign keys)
    from microdrama.accounts.models import Account, Role
    from microdrama.analytics.models import EpisodeView
    from microdrama.catalog.models import Episode, EpisodeState, Series, SeriesStatus
    from microdrama.db import make_engine, utcnow

    now = utcnow()
    vocabulary = _vocabulary(rng)
    engine = make_engine(url)
    with engine.begin() as conn:
        creators = [f"{_made_up(rng).capitalize()} Studio {n}" for n in range(max(1, count // 20))]
        creator_ids = _insert(
            conn,
            Account,
            [{"display_name": n, "role": Role.creator, "is_guest": False} for n in creators],
        )
        viewer_ids = _insert(
            conn, Account, [{"display_name": f"viewer {n}", "is_guest": True} for n in range(500)]
        )
        planned = []
        for _ in range(count):
            owner = rng.randrange(len(creators))
            planned.append(
                {
                    "title": _title(rng, vocabulary),
                    "synopsis": " ".join(
                        rng.choice(TROPES) if rng.random() < 0.2 else rng.choice(vocabulary)
                        for _ in range(rng.randint(25, 40))
                    ),
                    "genre": rng.choice(GENRES),
                    "tags": rng.sample(TROPES, rng.randint(2, 4)),
                    "language": rng.choice(LANGUAGES),
                    "owner_id": creator_ids[owner],
                    "status": SeriesStatus.published,
                    "published_at": now - timedelta(days=rng.uniform(1, 365)),
                    "free_episodes": rng.choice([0, 3, 5, 10]),
                    "creator": creators[owner],
                }
            )
        series_ids = _insert(
            conn, Series, [{k: v for k, v in p.items() if k != "creator"} for p in planned]
        )
        episodes = [
            {"series_id": s, "number": 1, "duration_ms": 90_000, "state": EpisodeState.ready}
            for s in series_ids
        ]
        episodes += [
            {"series_id": s, "number": 2, "duration_ms": 0, "state": EpisodeState.processing}
            for s in series_ids
            if rng.random() < 0.1
        ]
        episode_ids = _insert(conn, Episode, episodes)
        views = []
        for series_id, episode_id in zip(series_ids, episode_ids, strict=False):
            for viewer in rng.sample(viewer_ids, rng.randint(0, 40)):
                at = now - timedelta(hours=rng.uniform(1, 160))
                views.append(
                    {
                        "account_id": viewer,
                        "session_id": uuid.uuid4().hex,
                        "episode_id": episode_id,
                        "series_id": series_id,
                        "started_at": at,
                        "last_at": at,
                        "played": True,
                    }
                )
        for start in range(0, len(views), CHUNK):
            conn.execute(insert(EpisodeView), views[start : start + CHUNK])
    engine.dispose()
    for plan, series_id in zip(planned, series_ids, strict=True):
        plan["id"] = series_id
    return planned


def queries(planned: list[dict[str, Any]], per_kind: int, rng: random.Random) -> list[tuple]:
    """(kind, text, genre, the series it is meant to find or None)."""
    made = []
    for plan in rng.sample(planned, min(per_kind, len(planned))):
        words = plan["title"].split()
        made += [
            ("title", plan["title"], None, plan["id"]),
            ("typing", words[0][:4], None, None),
            ("typo", " ".join([*(_typo(rng, w) for w in words[:2]), *words[2:]]), None, plan["id"]),
            ("creator", plan["creator"], None, None),
            ("two letters", words[-1][:2], None, None),
            ("no match", "qwxzy", None, None),
            ("filtered", plan["title"], plan["genre"], plan["id"]),
        ]
    return made


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
            conn.execute(text("ANALYZE"))  # as autovacuum does after a bulk load
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
            with database(backend, args.database) as url:
                planned = write_catalog(url, count, rng)
                made = queries(planned, args.queries, rng)
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
