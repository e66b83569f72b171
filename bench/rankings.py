"""The rankings job at a million episode views: the time to compute and store a day's charts,
and to read one chart back, on each database.

    .venv/bin/python bench/rankings.py [--views 1000000] [--viewers 5000] [--series 500]
        [--genres 20] [--seed 14] [--backends sqlite,postgresql] [--database URL]

The history: `--views` episode views (the rows of `episode_views`, the rollup the rankings
read; the player's raw events are several times as many) spread over the last 15 days, about
one unlock for every twenty views. Series are picked by a Zipf-like popularity, and a tenth of
them grow day after day (Rising has something to find). Each viewer's session on a series is
a run of episodes from episode 1, most completed.

Then, as `microdrama rankings refresh` or housekeeping would
(`rankings.refresh_in_own_transaction`): the first refresh of today, which computes yesterday
too (its ranks are today's previous ranks), then a second refresh of today alone; then
`rankings.read_chart` (what GET /api/rankings answers) for the overall weekly Trending chart
and a genre's, median of 50.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import timedelta
from typing import Any

from common import ROOT, add_database_option, bench_database, emit_json
from sqlalchemy import func, insert, select

sys.path.insert(0, str(ROOT / "src"))

CHUNK = 20_000
EPISODES = 30
FREE = 5
DAYS = 15


def write_history(url: str, args: argparse.Namespace) -> tuple[int, int]:
    """Series, episodes, viewers, their episode views and unlocks; returns (views, unlocks)."""
    import microdrama.models  # noqa: F401  (every table, for the foreign keys)
    from microdrama.accounts.models import Account, Role
    from microdrama.analytics.models import EpisodeView
    from microdrama.catalog.models import Episode, EpisodeState, Series, SeriesStatus
    from microdrama.db import make_engine, utcnow
    from microdrama.paywall.models import Unlock, UnlockMethod

    rng = random.Random(args.seed)
    now = utcnow()
    engine = make_engine(url)
    ordered = {"sort_by_parameter_order": True}
    with engine.begin() as conn:
        owner = conn.execute(
            insert(Account).returning(Account.id),
            [{"display_name": "Bench Studio", "role": Role.creator, "is_guest": False}],
        ).scalar_one()
        series_ids = list(
            conn.execute(
                insert(Series).returning(Series.id, **ordered),
                [
                    {"title": f"Series {n + 1}", "owner_id": owner,
                     "genre": f"genre {n % args.genres}", "status": SeriesStatus.published,
                     "published_at": now - timedelta(days=40),
                     "free_episodes": FREE}
                    for n in range(args.series)
                ],
            ).scalars()
        )  # fmt: skip
        episode_ids = list(
            conn.execute(
                insert(Episode).returning(Episode.id, **ordered),
                [
                    {
                        "series_id": s,
                        "number": e,
                        "duration_ms": 90_000,
                        "state": EpisodeState.ready,
                    }
                    for s in series_ids
                    for e in range(1, EPISODES + 1)
                ],
            ).scalars()
        )
        viewer_ids = list(
            conn.execute(
                insert(Account).returning(Account.id, **ordered),
                [{"display_name": f"Viewer {n}"} for n in range(args.viewers)],
            ).scalars()
        )
    weights = [1 / (rank + 1) ** 0.8 for rank in range(args.series)]
    growing = set(rng.sample(range(args.series), args.series // 10))
    views: list[dict[str, Any]] = []
    unlocks: dict[tuple[int, int], dict[str, Any]] = {}
    session = 0
    while len(views) < args.views:
        n = rng.choices(range(args.series), weights)[0]
        age_days = rng.random() * DAYS
        if n in growing and rng.random() < 0.5:
            age_days = rng.random() ** 2 * DAYS  # more and more often lately
        at = now - timedelta(days=age_days)
        viewer = viewer_ids[rng.randrange(args.viewers)]
        depth = min(EPISODES, 1 + int(rng.expovariate(1 / 4)))
        session += 1
        for number in range(1, depth + 1):
            episode = episode_ids[n * EPISODES + number - 1]
            completed = rng.random() < 0.8
            started = at + timedelta(seconds=95 * (number - 1))
            views.append(
                {"account_id": viewer, "session_id": f"s{session}", "episode_id": episode,
                 "series_id": series_ids[n], "started_at": started, "last_at": started,
                 "played": True, "furthest_ms": 90_000 if completed else 2_000,
                 "completed": completed, "swiped_away": not completed, "unlocked": False}
            )  # fmt: skip
            if number > FREE and rng.random() < 0.4:
                unlocks.setdefault(
                    (viewer, episode),
                    {"account_id": viewer, "episode_id": episode, "series_id": series_ids[n],
                     "method": UnlockMethod.coins, "price_coins": 60, "created_at": started},
                )  # fmt: skip
    with engine.begin() as conn:
        for start in range(0, len(views), CHUNK):
            conn.execute(insert(EpisodeView), views[start : start + CHUNK])
        rows = list(unlocks.values())
        for start in range(0, len(rows), CHUNK):
            conn.execute(insert(Unlock), rows[start : start + CHUNK])
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return len(views), len(unlocks)


def run(backend: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    from microdrama.db import make_engine, make_sessionmaker
    from microdrama.discovery import rankings
    from microdrama.discovery.models import Chart, ChartPeriod, RankingEntry
    from microdrama.storage import LocalStorage

    started = time.perf_counter()
    views, unlocks = write_history(url, args)
    print(f"{backend}: {views:,} views and {unlocks:,} unlocks written in "
          f"{time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    first = rankings.refresh_in_own_transaction(factory)
    second = rankings.refresh_in_own_transaction(factory)
    storage = LocalStorage(ROOT / "data" / "media", "/media")
    reads: dict[str, list[float]] = {"overall": [], "genre": []}
    for _ in range(50):
        for name, genre in (("overall", ""), ("genre", "genre 3")):
            with factory() as db:
                t0 = time.perf_counter()
                chart = rankings.read_chart(
                    db=db, storage=storage, chart=Chart.trending, period=ChartPeriod.weekly,
                    genre=genre, limit=20,
                )  # fmt: skip
                reads[name].append(time.perf_counter() - t0)
                assert chart.entries, chart
    with factory() as db:
        stored = db.scalar(select(func.count()).select_from(RankingEntry))
    engine.dispose()
    return {
        "backend": backend,
        "views": views,
        "unlocks": unlocks,
        "first_refresh_s": first.seconds,
        "refresh_s": second.seconds,
        "entries_a_day": second.entries,
        "charts_a_day": second.charts,
        "entries_stored": stored,
        "read_overall_ms": round(statistics.median(reads["overall"]) * 1000, 2),
        "read_genre_ms": round(statistics.median(reads["genre"]) * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--views", type=int, default=1_000_000)
    parser.add_argument("--viewers", type=int, default=5_000)
    parser.add_argument("--series", type=int, default=500)
    parser.add_argument("--genres", type=int, default=20)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--backends", default="sqlite,postgresql")
    add_database_option(parser)
    args = parser.parse_args()
    results = []
    for backend in args.backends.split(","):
        with bench_database(backend, args.database, "md_bench_rankings") as url:
            results.append(run(backend, url, args))
    print()
    print(f"{'backend':<11} {'views':>10} {'first refresh':>14} {'refresh':>8} "
          f"{'rows/day':>9} {'read overall':>13} {'read genre':>11}")  # fmt: skip
    for r in results:
        print(f"{r['backend']:<11} {r['views']:>10,} {r['first_refresh_s']:>12.2f} s "
              f"{r['refresh_s']:>6.2f} s {r['entries_a_day']:>9,} {r['read_overall_ms']:>10.2f} ms "
              f"{r['read_genre_ms']:>8.2f} ms")  # fmt: skip
    emit_json("rankings", results=results)


if __name__ == "__main__":
    main()
