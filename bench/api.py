"""API throughput at 10,000 series: the feed (a visitor's, and a known viewer's For You), search
and a series page against a bare async route in the same server, on SQLite and PostgreSQL.

    .venv/bin/python bench/api.py [--seconds 10] [--connections 50] [--series 10000]
        [--backends sqlite,postgresql] [--database URL]

For each backend: a fresh, migrated database (PostgreSQL: a temporary schema on `--database`)
holding the generated catalog of bench/common.py (`write_catalog`: `--series` published series,
rows only, with about 20 viewers each in the last week from 500 viewers); its search documents
built, today's rankings computed and For You trained on those views (as housekeeping keeps
them), and a bearer session opened for one of the 500 viewers. Then the real app under uvicorn (one
process, as `microdrama serve` runs it), each row driven by `wrk -t2 -c50 --latency` after a
short warm-up, the bare route first: its ratio is what our routing, database, serialisation
and caching leave of the server's speed.

The rows:
- feed, visitor: `/api/feed` without a cookie: the shared answer from the public cache.
- feed, For You: `/api/feed` as the known viewer: its page is rebuilt (candidates re-ranked)
  when older than 4-5 s (discovery/feed_routes.py PRIVATE_SECONDS, jittered), the browser's
  max-age, and served once more while that rebuild runs.
- feed, For You, every viewer in turn: each request another of the 500 viewers (tokens in
  turn), no warm-up: each viewer's first page is built while they wait (the first second or
  two of the run), then each page is rebuilt every 4-5 s, ≈ 100 rebuilds a second beside the
  answers, from the cards and candidates the process keeps (cache.py's part cache): what 500
  viewers swiping at once cost.
- search, popular: a mix of queries of seven kinds (`search_queries`: exact titles, typing
  prefixes, typos, creators, two letters, a word nothing has, a title with its genre filter)
  drawn from 30 series, each distinct query asked once just before the run (as popular
  queries are): answers kept in the public cache for 30 s (discovery/routes.py
  ANSWER_SECONDS), so the run measures cache hits; in steady state each is rebuilt once per
  30 s per process (the never-asked row's cost).
- search, never asked: every request a query not asked before in the run (the same kinds
  from 2,000 other series, thousands of distinct queries): what a query costs uncached.
- series page: `/api/series/{id}` (cached for everyone).

wrk waits up to 30 s for an answer (its default, 2 s, would count the slowest as errors and
leave them out of the percentiles).

Targets (issue 14): p95 <= 25 ms for the For You feed and <= 30 ms for search at 50
connections, on both databases; /api/feed >= 0.35 x bare with p99 <= 25 ms (issue 6).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import urllib.parse
import urllib.request
from dataclasses import asdict
from pathlib import Path
from typing import Any

from common import (
    WrkResult,
    app_env,
    bench_database,
    emit_json,
    free_port,
    require_tool,
    run_wrk,
    running,
    search_queries,
    uvicorn_command,
    write_catalog,
    wrk_row,
)
from sqlalchemy import select, text

FEED_RATIO_TARGET = 0.35
FEED_P99_TARGET_MS = 25.0
FOR_YOU_P95_TARGET_MS = 25.0
SEARCH_P95_TARGET_MS = 30.0
POPULAR_FROM_SERIES = 30
NEVER_ASKED_FROM_SERIES = 2_000


def _search_path(words: str, genre: str | None) -> str:
    params = {"q": words, **({"genre": genre} if genre else {})}
    return "/api/search?" + urllib.parse.urlencode(params)


def _distinct_paths(made: list[tuple[str, str, str | None, int | None]]) -> list[str]:
    return list(dict.fromkeys(_search_path(words, genre) for _kind, words, genre, _ in made))


def prepare(url: str, data_dir: Path) -> tuple[list[str], int]:
    """Search documents built, rankings computed, For You trained; a bearer token of each
    viewer with candidates, and a series id."""
    from microdrama.accounts import service as accounts
    from microdrama.accounts.models import Account, SessionKind
    from microdrama.catalog.models import Series
    from microdrama.config import Settings
    from microdrama.db import make_engine, make_sessionmaker, session_scope
    from microdrama.discovery import rankings, search_index, training
    from microdrama.discovery.models import Recommendation

    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    try:
        with session_scope(factory) as db:
            search_index.refresh_stale(db)
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))  # as autovacuum does after a bulk load
        # What housekeeping keeps fresh: the charts (Trending orders a new viewer's feed and
        # search's suggestions) and For You.
        charts = rankings.refresh_in_own_transaction(factory)
        run = training.train(factory)
        print(
            f"rankings: {charts.entries} entries in {charts.seconds:.1f} s; For You trained on "
            f"{run.interactions} histories of {run.viewers} viewers in {run.seconds:.1f} s"
        )
        settings = Settings(environment="test", data_dir=data_dir, database_url=url)
        with session_scope(factory) as db:
            viewer_ids = db.scalars(
                select(Recommendation.account_id).distinct().order_by(Recommendation.account_id)
            ).all()
            assert viewer_ids, "For You proposed nothing"
            tokens = [
                accounts.start_session(
                    db=db, settings=settings, account=viewer, kind=SessionKind.bearer
                )[0]
                for viewer in db.scalars(select(Account).where(Account.id.in_(viewer_ids)))
            ]
            series_id = db.scalar(select(Series.id).order_by(Series.id).limit(1))
            assert series_id is not None
    finally:
        engine.dispose()
    return tokens, series_id


def measure(
    backend: str, database: str, args: argparse.Namespace
) -> tuple[dict[str, WrkResult], dict[str, Any]]:
    rng = random.Random(args.seed)
    with (
        bench_database(backend, database, "md_bench_api") as url,
        tempfile.TemporaryDirectory(prefix="md-bench-api-") as tmp,
    ):
        data_dir = Path(tmp)
        planned = write_catalog(url, args.series, rng)
        popular = _distinct_paths(search_queries(planned, POPULAR_FROM_SERIES, rng))
        never = _distinct_paths(search_queries(planned, NEVER_ASKED_FROM_SERIES, rng))
        never = [p for p in never if p not in set(popular)]
        tokens, series_id = prepare(url, data_dir)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = app_env(data_dir, url)
        with running(uvicorn_command(port), ready_url=f"{base}/bench/bare", env=env):
            bearers = [f"Authorization: Bearer {token}" for token in tokens]
            # The rows that leave searches or page builds queued in the server's threads
            # last, so they do not slow the rows after them.
            rows: dict[str, dict[str, Any]] = {
                "bare": {"url": base + "/bench/bare"},
                "feed": {"url": base + "/api/feed"},
                "series": {"url": f"{base}/api/series/{series_id}"},
                "for_you": {"url": base + "/api/feed", "header": bearers[0]},
                "search_popular": {"url": base + popular[0], "paths": popular},
                "for_you_all": {
                    "url": base + "/api/feed",
                    "paths": ["/api/feed"] * len(bearers),
                    "headers": bearers,
                },
                "search_never_asked": {"url": base + never[0], "paths": never},
            }
            results = {}
            for name, row in rows.items():
                if name == "search_popular":  # each asked once just before: answers cached
                    for path in popular:
                        urllib.request.urlopen(base + path, timeout=30).read()
                elif name not in ("search_never_asked", "for_you_all"):  # each one new
                    run_wrk(**row, connections=10, seconds=1)  # warm-up
                results[name] = run_wrk(
                    **row, connections=args.connections, seconds=args.seconds, timeout_s=30
                )
                print(wrk_row(name, results[name]), flush=True)
    facts = {
        "popular_queries": len(popular),
        "never_asked_queries": len(never),
        "for_you_viewers": len(tokens),
    }
    return results, facts


def report(backend: str, results: dict[str, WrkResult], facts: dict[str, Any]) -> dict[str, Any]:
    bare = results["bare"]
    labels = {
        "bare": "GET /bench/bare (baseline)",
        "feed": "GET /api/feed (visitor)",
        "for_you": "GET /api/feed (For You)",
        "for_you_all": f"For You, {facts['for_you_viewers']} in turn",
        "search_popular": f"search, {facts['popular_queries']} popular",
        "search_never_asked": "search, never asked",
        "series": "GET /api/series/{id}",
    }
    print(f"\n{backend}:")
    for name, label in labels.items():
        print(wrk_row(label, results[name], None if name == "bare" else bare))
    feed, for_you = results["feed"], results["for_you"]
    popular, never = results["search_popular"], results["search_never_asked"]
    feed_ratio = feed.requests_per_s / bare.requests_per_s
    checks = {
        "feed_ratio_and_p99": feed_ratio >= FEED_RATIO_TARGET and feed.p99_ms <= FEED_P99_TARGET_MS,
        "for_you_p95": for_you.p95_ms <= FOR_YOU_P95_TARGET_MS,
        "search_popular_p95": popular.p95_ms <= SEARCH_P95_TARGET_MS,
        "search_never_asked_p95": never.p95_ms <= SEARCH_P95_TARGET_MS,
    }
    print(
        f"feed (visitor): {feed_ratio:.2f} x bare, p99 {feed.p99_ms:.1f} ms (target >= "
        f"{FEED_RATIO_TARGET} x, p99 <= {FEED_P99_TARGET_MS:.0f} ms)\n"
        f"For You feed: p95 {for_you.p95_ms:.1f} ms for one viewer (target <= "
        f"{FOR_YOU_P95_TARGET_MS:.0f} ms), {results['for_you_all'].p95_ms:.1f} ms for "
        f"{facts['for_you_viewers']} viewers in turn\n"
        f"search: p95 {popular.p95_ms:.1f} ms over {facts['popular_queries']} popular queries "
        f"answered from the cache, {never.p95_ms:.1f} ms when never asked "
        f"({facts['never_asked_queries']} distinct; target <= {SEARCH_P95_TARGET_MS:.0f} ms)"
    )
    for check, met in checks.items():
        print(f"  {check}: {'met' if met else 'NOT met'}")
    return {
        **facts,
        **{name: asdict(result) for name, result in results.items()},
        "ratios": {
            name: round(r.requests_per_s / bare.requests_per_s, 3)
            for name, r in results.items()
            if name != "bare"
        },
        "targets_met": checks,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per row")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--series", type=int, default=10_000, help="published series")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--database", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    require_tool("wrk", "sudo apt-get install wrk")
    print(
        f"{args.series} series; wrk -t2 -c{args.connections} -d{args.seconds}s --latency "
        "per row, after a 1 s warm-up at 10 connections"
    )
    figures = {}
    for backend in args.backends.split(","):
        results, facts = measure(backend, args.database, args)
        figures[backend] = report(backend, results, facts)
    emit_json("api", connections=args.connections, seconds=args.seconds, **figures)


if __name__ == "__main__":
    main()
