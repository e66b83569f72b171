"""Discover's time on a generated catalog, on SQLite and PostgreSQL: the shared rows built
cold, then the API and the page for a visitor and for a viewer with a history.

    .venv/bin/python bench/discover.py [--series 24,1000] [--requests 60] [--seed 14]
        [--backends sqlite,postgresql] [--database URL]

The catalog is bench/common.py's `write_catalog` (20 genres, one ready episode a series,
about 20 episode views each in the last week), with the rankings computed once (and
PostgreSQL's statistics gathered, as autovacuum does after a bulk load). The viewer
has watched 6 series (Continue watching and Because you watched …), follows 6 (My list), has
50 precomputed recommendations (For You), and each series 20 co-watching neighbours.

In process, one client (FastAPI's TestClient: no network, no server): "cold" is
`discover.shared_json` in a session of its own, what a request pays when the public cache has
nothing fresh (every few seconds per process, in the background once it has something); the
requests then meet the cache as a live process would (its 2 s freshness, stale answers served
while one rebuild runs).
"""

from __future__ import annotations

import argparse
import gzip
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import add_database_option, bench_database, emit_json, percentile, write_catalog


def _viewer(url: str, series_ids: list[int], rng: random.Random) -> dict[str, str]:
    """A signed-in viewer with a history; answers their bearer header."""
    from sqlalchemy import select

    from microdrama.accounts import service as accounts
    from microdrama.accounts.models import SessionKind
    from microdrama.catalog.models import Episode
    from microdrama.config import Settings
    from microdrama.db import make_engine, make_sessionmaker, session_scope
    from microdrama.discovery import my_list, rankings
    from microdrama.discovery.models import Recommendation, SimilarSeries
    from microdrama.playback.models import WatchProgress

    engine = make_engine(url)
    with session_scope(make_sessionmaker(engine)) as db:
        rankings.refresh(db)
        ana = accounts.create_account(db=db, display_name="Ana")
        token, _ = accounts.start_session(
            db=db, settings=Settings(), account=ana, kind=SessionKind.bearer
        )
        picked = rng.sample(series_ids, min(len(series_ids), 12))
        for series_id in picked[:6]:
            episode = db.scalars(
                select(Episode).where(Episode.series_id == series_id, Episode.number == 1)
            ).one()
            db.add(
                WatchProgress(
                    account_id=ana.id,
                    episode_id=episode.id,
                    series_id=series_id,
                    position_ms=20_000,
                )
            )
        for series_id in picked[6:]:
            my_list.follow(db, ana.id, series_id)
        for rank, series_id in enumerate(rng.sample(series_ids, min(50, len(series_ids))), 1):
            db.add(Recommendation(account_id=ana.id, series_id=series_id, rank=rank, score=1.0))
        for series_id in series_ids:
            others = rng.sample(series_ids, min(21, len(series_ids)))
            others = [o for o in others if o != series_id][:20]
            db.add_all(
                SimilarSeries(series_id=series_id, other_series_id=o, rank=r, score=1.0)
                for r, o in enumerate(others, 1)
            )
    engine.dispose()
    return {"Authorization": f"Bearer {token}"}


def _times(call: Any, count: int) -> list[float]:
    spent = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        spent.append((time.perf_counter() - start) * 1000)
    return spent


def _figures(spent: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(spent), 1),
        "p95_ms": round(percentile(spent, 0.95), 1),
    }


def measure(url: str, series: int, requests: int, seed: int) -> dict[str, Any]:
    from fastapi.testclient import TestClient
    from sqlalchemy import text

    from microdrama.app import create_app
    from microdrama.config import Settings
    from microdrama.db import make_engine, make_sessionmaker, session_scope
    from microdrama.discovery import discover
    from microdrama.storage import LocalStorage

    rng = random.Random(seed)
    planned = write_catalog(url, series, rng)
    headers = _viewer(url, [p["id"] for p in planned], rng)
    data_dir = Path(tempfile.mkdtemp(prefix="md-bench-discover-"))
    settings = Settings(
        environment="test", data_dir=data_dir, database_url=url, embedded_worker=False
    )
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))  # as autovacuum does after a bulk load
    factory = make_sessionmaker(engine)
    storage = LocalStorage(settings.media_dir, settings.media_url_prefix)

    def cold() -> None:
        with session_scope(factory) as db:
            discover.shared_json(db=db, storage=storage)

    figures: dict[str, Any] = {"series": series}
    figures["shared_rows_cold"] = _figures(_times(cold, max(5, requests // 6)))
    with TestClient(create_app(settings)) as client:
        visitor = TestClient(client.app)
        for name, call in (
            ("api_visitor", lambda: visitor.get("/api/discover").raise_for_status()),
            ("api_viewer", lambda: client.get("/api/discover", headers=headers).raise_for_status()),
            ("page_visitor", lambda: visitor.get("/discover").raise_for_status()),
            ("page_viewer", lambda: client.get("/discover", headers=headers).raise_for_status()),
        ):
            call()  # warm: the cache, the connection pool
            figures[name] = _figures(_times(call, requests))
        body = client.get("/api/discover", headers=headers)
        figures["viewer_rows"] = len(body.json()["rows"])
        figures["viewer_answer_kb"] = round(len(body.content) / 1024, 1)
        page = client.get("/discover", headers=headers).content
        figures["page_kb"] = round(len(page) / 1024, 1)
        figures["page_kb_gzip"] = round(len(gzip.compress(page)) / 1024, 1)
    engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", default="24,1000")
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--backends", default="sqlite,postgresql")
    add_database_option(parser)
    args = parser.parse_args()
    results = []
    print(
        "| backend | series | cold shared rows | API visitor | API viewer | page visitor "
        "| page viewer | rows | API KB | page KB (gzip) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for backend in args.backends.split(","):
        for series in (int(s) for s in args.series.split(",")):
            with bench_database(backend, args.database, prefix="md_bench_discover") as url:
                found = measure(url, series, args.requests, args.seed)
            found["backend"] = backend
            results.append(found)

            def cell(name: str, found: dict[str, Any] = found) -> str:
                return f"{found[name]['p50_ms']} / {found[name]['p95_ms']}"

            print(
                f"| {backend} | {series:,} | {cell('shared_rows_cold')} | {cell('api_visitor')} "
                f"| {cell('api_viewer')} | {cell('page_visitor')} | {cell('page_viewer')} "
                f"| {found['viewer_rows']} | {found['viewer_answer_kb']} "
                f"| {found['page_kb']} ({found['page_kb_gzip']}) |",
                flush=True,
            )
    print("(milliseconds, p50 / p95; one client in process)")
    emit_json("discover", results=results)


if __name__ == "__main__":
    main()
