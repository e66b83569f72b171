"""For You against popularity and random on a simulated audience with hidden tastes, and the
time to train at a million views.

    .venv/bin/python bench/recs.py [--viewers 5000] [--series 500] [--genres 20]
        [--events 1000000] [--seed 14] [--algorithms als,bpr,cosine,bm25]
        [--db-events 100000] [--backends sqlite,postgresql] [--database URL]

The audience. Every series has a genre, a hidden style (a vector) and an appeal; every viewer
has hidden tastes: a few favourite genres and a style of their own. Viewers start series one
after another, some because the feed showed them (by appeal alone), most because they went
looking (by taste); how much they like a series decides what they do with it: swipe it away
in the first seconds, sample an episode, or binge it (episodes completed one after another,
unlocks past the free ones, a follow now and then). An *event* is one episode view, the row
the analytics rollup keeps per viewer and episode (`episode_views`): the player's raw events
(start, progress every 5 s, complete) are about ten times as many.

The test. Each viewer's last series they liked is held out; the model learns from everything
else through the production code (`discovery.recommender`: histories → weights → model →
top candidates, the feed's re-rank from `discovery.for_you`); recall@10 is the share of
viewers whose held-out series is in their first 10, NDCG@10 discounts it by its place.
Baselines in the same run: popularity (most viewers, unseen ones) and random (unseen ones);
and a ceiling: the hidden tastes themselves (each viewer's best-liked unseen series), which no
model can beat since viewers find series by chance too. Viewers with nothing else to learn
from get the popularity list, as the app's cold start gives them Trending. How far For You
beats popularity depends on how strongly tastes follow genres (`GENRE_WEIGHT`): at 3 instead
of 5 the ceiling itself is only about 2 x popularity.

Then the first viewers' histories, `--db-events` views in all, are written as rows (accounts,
series, episodes, episode_views, unlocks, follows) into a fresh database of each of
`--backends` (PostgreSQL: a temporary schema on `--database`) and `discovery.training.train`
runs on them as `microdrama recs train` does: read the rows, fit, write the candidates and
similar series in one transaction. The rows give back the very histories; only their order
differs, which moves ALS's random start: the recall equals that of the histories handed to
the model directly (printed before it) at a million views, and is within a few points of it
on small runs.

Targets (issue 14): For You >= 1.5 x popularity's recall@10; training <= 60 s at 1 M events
on 2 cores.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
from common import ROOT, add_database_option, bench_database, emit_json
from sqlalchemy import insert, select

sys.path.insert(0, str(ROOT / "src"))

from microdrama.discovery import for_you
from microdrama.discovery.recommender import (
    CANDIDATES_PER_VIEWER,
    DEFAULT_ALGORITHM,
    Algorithm,
    History,
    Interactions,
    fit,
)

RECALL_RATIO_TARGET = 1.5
TRAINING_SECONDS_TARGET = 60.0
K = 10
# The hidden tastes. A viewer's liking of a series: their taste for its genre (a Dirichlet
# draw over the genres: a few favourites), their style against its style, and its appeal.
TASTE_CONCENTRATION = 0.2
GENRE_WEIGHT = 5.0
STYLE_WEIGHT = 1.2
APPEAL_SD = 0.6
FEED_SHARE = 0.3  # of the series a viewer starts, the share the feed showed them by appeal
LOOKING_SHARPNESS = 2.0  # how surely viewers who go looking find what they like


@dataclass
class Catalog:
    genre: np.ndarray  # series -> genre
    appeal: np.ndarray  # series -> how much anyone likes it
    style: np.ndarray  # series -> hidden style (unit vectors)
    episodes: np.ndarray  # series -> episode count
    free: np.ndarray  # series -> free episodes


@dataclass
class Viewer:
    histories: list[History] = field(default_factory=list)  # in the order they happened
    views: int = 0
    utility: np.ndarray | None = None  # the hidden liking of each series (for the oracle)


def make_catalog(rng: np.random.Generator, *, series: int, genres: int) -> Catalog:
    style = rng.normal(size=(series, 8))
    style /= np.linalg.norm(style, axis=1, keepdims=True)
    return Catalog(
        genre=rng.integers(0, genres, series),
        appeal=rng.normal(0.0, APPEAL_SD, series),
        style=style,
        episodes=rng.integers(20, 81, series),
        free=rng.integers(5, 11, series),
    )


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def simulate(
    catalog: Catalog, rng: np.random.Generator, *, viewers: int, genres: int, events: int
) -> list[Viewer]:
    """Every viewer's histories, in order, about `events` episode views in all."""
    count = len(catalog.genre)
    budgets = rng.lognormal(0.0, 0.8, viewers)
    budgets = np.maximum(1, budgets / budgets.sum() * events).astype(int)
    audience: list[Viewer] = []
    for account_id in range(1, viewers + 1):
        taste = rng.dirichlet(np.full(genres, TASTE_CONCENTRATION))
        style = rng.normal(size=8)
        style /= np.linalg.norm(style)
        # How much this viewer likes each series (hidden): genre, style, the series' appeal.
        utility = (
            GENRE_WEIGHT * (taste[catalog.genre] * genres - 1.0) / genres
            + STYLE_WEIGHT * catalog.style @ style
            + catalog.appeal
        )
        # Two orders in which series come to the viewer (sampling without replacement):
        # the feed's (appeal alone) and their own looking (taste). Gumbel keys do it at once.
        by_feed = np.argsort(-(1.5 * catalog.appeal + rng.gumbel(size=count)))
        by_taste = np.argsort(-(LOOKING_SHARPNESS * utility + rng.gumbel(size=count)))
        viewer = Viewer(utility=utility)
        started: set[int] = set()
        feed_at = taste_at = 0
        budget = budgets[account_id - 1]
        while viewer.views < budget and len(started) < count:
            if rng.random() < FEED_SHARE:
                while by_feed[feed_at] in started:
                    feed_at += 1
                series = int(by_feed[feed_at])
            else:
                while by_taste[taste_at] in started:
                    taste_at += 1
                series = int(by_taste[taste_at])
            started.add(series)
            history, views = _watch(catalog, rng, account_id, series, float(utility[series]))
            viewer.histories.append(history)
            viewer.views += views
        audience.append(viewer)
    return audience


def _watch(
    catalog: Catalog, rng: np.random.Generator, account_id: int, series: int, utility: float
) -> tuple[History, int]:
    """What a viewer does with a series they start, and how many episode views it makes."""
    series_id = series + 1
    if rng.random() >= _sigmoid(2.0 * (utility - 0.8)):
        if rng.random() < 0.6:  # swiped away in the first seconds
            return History(account_id, series_id, skipped=True), 1
        played = int(rng.integers(1, 3))  # sampled an episode or two, finished none
        return History(account_id, series_id, episodes_played=played), played
    go_on = 0.80 + 0.15 * _sigmoid(utility)  # chance of starting the next episode
    depth = min(int(rng.geometric(1.0 - go_on)), int(catalog.episodes[series]))
    completed = depth - int(rng.random() < 0.3)
    pays = rng.random() < 0.4
    unlocks = max(0, depth - int(catalog.free[series])) if pays else 0
    depth = depth if pays else min(depth, int(catalog.free[series]))
    completed = min(completed, depth)
    history = History(
        account_id,
        series_id,
        episodes_played=depth,
        episodes_completed=completed,
        unlocks=unlocks,
        followed=rng.random() < 0.2,
    )
    return history, depth


@dataclass
class Split:
    train: list[History]
    held_out: dict[int, int]  # account id -> series id


def hold_out_last(audience: Sequence[Viewer]) -> Split:
    """Each viewer's last liked series held out; everything else to learn from."""
    train: list[History] = []
    held_out: dict[int, int] = {}
    for viewer in audience:
        last = next((h for h in reversed(viewer.histories) if h.weight > 0), None)
        if last is not None:
            held_out[last.account_id] = last.series_id
        train += [h for h in viewer.histories if h is not last]
    return Split(train=train, held_out=held_out)


@dataclass
class Score:
    recall: float
    ndcg: float


def evaluate(lists: dict[int, list[int]], held_out: dict[int, int]) -> Score:
    hits = gain = 0.0
    for account_id, target in held_out.items():
        top = lists.get(account_id, [])[:K]
        if target in top:
            hits += 1
            gain += 1.0 / math.log2(top.index(target) + 2)
    return Score(recall=hits / len(held_out), ndcg=gain / len(held_out))


def seen_by_viewer(train: Sequence[History]) -> dict[int, set[int]]:
    seen: dict[int, set[int]] = {}
    for h in train:
        seen.setdefault(h.account_id, set()).add(h.series_id)
    return seen


def popularity_lists(
    train: Sequence[History], held_out: dict[int, int], seen: dict[int, set[int]], size: int
) -> dict[int, list[int]]:
    viewers_of: dict[int, int] = {}
    for h in train:
        if h.weight > 0:
            viewers_of[h.series_id] = viewers_of.get(h.series_id, 0) + 1
    chart = sorted(viewers_of, key=lambda s: -viewers_of[s])
    return {a: [s for s in chart if s not in seen.get(a, set())][:size] for a in held_out}


def random_lists(
    rng: np.random.Generator, series: int, held_out: dict[int, int], seen: dict[int, set[int]]
) -> dict[int, list[int]]:
    lists = {}
    for a in held_out:
        order = rng.permutation(series) + 1
        lists[a] = [int(s) for s in order if s not in seen.get(a, set())][:K]
    return lists


def oracle_lists(
    audience: Sequence[Viewer], held_out: dict[int, int], seen: dict[int, set[int]]
) -> dict[int, list[int]]:
    """The hidden tastes themselves: each viewer's best-liked unseen series (a ceiling)."""
    lists = {}
    for account_id, viewer in enumerate(audience, start=1):
        if account_id in held_out and viewer.utility is not None:
            order = np.argsort(-viewer.utility) + 1
            lists[account_id] = [int(s) for s in order if s not in seen.get(account_id, set())][:K]
    return lists


def served(
    candidates: dict[int, list[int]], genre_of: dict[int, str], fallback: dict[int, list[int]]
) -> dict[int, list[int]]:
    """The feed's order: the candidates through the per-request re-rank (genres varied)."""
    lists = {}
    for account_id, chart in fallback.items():
        ids = candidates.get(account_id) or chart
        lists[account_id] = for_you.vary_genres(ids, genre_of, limit=K)
    return lists


# -- the production path, from rows ------------------------------------------------------

CHUNK = 20_000


def _insert(conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), CHUNK):
        conn.execute(insert(table), rows[start : start + CHUNK])


def write_rows(url: str, catalog: Catalog, train: Sequence[History]) -> dict[int, int]:
    """The histories as the app stores them: episode views (one per episode, a skip is one
    view swiped away after a second), unlocks of the episodes past the free ones, follows.
    Returns bench account id -> database account id."""
    import microdrama.models  # noqa: F401  (every table, for the foreign keys)
    from microdrama.accounts.models import Account, Role
    from microdrama.analytics.models import EpisodeView
    from microdrama.catalog.models import Episode, EpisodeState, Series, SeriesStatus
    from microdrama.db import make_engine, utcnow
    from microdrama.discovery.models import SeriesFollow
    from microdrama.paywall.models import Unlock, UnlockMethod

    now = utcnow()
    engine = make_engine(url)
    with engine.begin() as conn:
        owner = conn.execute(
            insert(Account).returning(Account.id),
            [{"display_name": "Bench Studio", "role": Role.creator, "is_guest": False}],
        ).scalar_one()
        ordered = {"sort_by_parameter_order": True}
        series_ids = list(
            conn.execute(
                insert(Series).returning(Series.id, **ordered),
                [
                    {"title": f"Series {n + 1}", "owner_id": owner, "genre": f"genre {g}",
                     "status": SeriesStatus.published, "published_at": now - timedelta(days=30),
                     "free_episodes": int(catalog.free[n])}
                    for n, g in enumerate(catalog.genre)
                ],
            ).scalars()
        )  # fmt: skip
        episode_rows = [
            {"series_id": sid, "number": number, "duration_ms": 90_000, "state": EpisodeState.ready}
            for sid, count in zip(series_ids, catalog.episodes, strict=True)
            for number in range(1, int(count) + 1)
        ]
        episode_ids = list(
            conn.execute(insert(Episode).returning(Episode.id, **ordered), episode_rows).scalars()
        )
        episode_of = {
            (row["series_id"], row["number"]): eid
            for row, eid in zip(episode_rows, episode_ids, strict=True)
        }
        bench_viewers = sorted({h.account_id for h in train})
        account_ids = list(
            conn.execute(
                insert(Account).returning(Account.id, **ordered),
                [{"display_name": f"Viewer {a}"} for a in bench_viewers],
            ).scalars()
        )
        account_of = dict(zip(bench_viewers, account_ids, strict=True))
        views: list[dict[str, Any]] = []
        unlocks: list[dict[str, Any]] = []
        follows: list[dict[str, Any]] = []
        for n, h in enumerate(train):
            account, sid = account_of[h.account_id], series_ids[h.series_id - 1]
            at = now - timedelta(hours=1 + n % 500)
            depth = 1 if h.skipped else h.episodes_played
            for number in range(1, depth + 1):
                views.append(
                    {"account_id": account, "session_id": f"s{n}",
                     "episode_id": episode_of[sid, number], "series_id": sid,
                     "started_at": at, "last_at": at, "played": True,
                     "furthest_ms": 1_200 if h.skipped else 90_000,
                     "completed": number <= h.episodes_completed,
                     "swiped_away": h.skipped or number > h.episodes_completed,
                     "unlocked": False}
                )  # fmt: skip
            free = int(catalog.free[h.series_id - 1])
            unlocks += [
                {"account_id": account, "episode_id": episode_of[sid, number], "series_id": sid,
                 "method": UnlockMethod.coins, "price_coins": 60}
                for number in range(free + 1, free + 1 + h.unlocks)
            ]  # fmt: skip
            if h.followed:
                follows.append({"account_id": account, "series_id": sid})
        _insert(conn, EpisodeView, views)
        _insert(conn, Unlock, unlocks)
        _insert(conn, SeriesFollow, follows)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    print(
        f"  wrote {len(views):,} episode views, {len(unlocks):,} unlocks, {len(follows):,} follows"
    )
    return account_of


def train_from_rows(
    url: str, account_of: dict[int, int], held_out: dict[int, int]
) -> dict[str, Any]:
    """`microdrama recs train` on the rows, timed; its candidates scored like the others."""
    from microdrama.catalog.models import Series
    from microdrama.db import make_engine, make_sessionmaker
    from microdrama.discovery.models import Recommendation
    from microdrama.discovery.training import read_histories, train

    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    with factory() as db:
        began = time.perf_counter()
        histories = read_histories(db=db)
        read_s = time.perf_counter() - began
    began = time.perf_counter()
    run = train(factory, algorithm=DEFAULT_ALGORITHM)
    train_s = time.perf_counter() - began
    with factory() as db:
        first_series = db.scalar(select(Series.id).order_by(Series.id).limit(1)) or 1
        rows = db.execute(
            select(Recommendation.account_id, Recommendation.series_id).order_by(
                Recommendation.account_id, Recommendation.rank
            )
        ).all()
    engine.dispose()
    bench_of = {account: bench for bench, account in account_of.items()}
    lists: dict[int, list[int]] = {}
    for account_id, series_id in rows:
        lists.setdefault(bench_of[account_id], []).append(series_id - first_series + 1)
    mine = {a: s for a, s in held_out.items() if a in account_of}
    score = evaluate(lists, mine)
    print(
        f"  train: {run.seconds:.1f} s in all ({read_s:.1f} s reading {len(histories):,} "
        f"histories), {train_s:.1f} s wall with the write; recall@10 {score.recall:.3f} "
        f"for its {len(mine)} viewers"
    )
    return {
        "train_s": round(train_s, 2),
        "read_s": round(read_s, 2),
        "histories": len(histories),
        "recall": round(score.recall, 4),
        "ndcg": round(score.ndcg, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--viewers", type=int, default=5000)
    parser.add_argument("--series", type=int, default=500)
    parser.add_argument("--genres", type=int, default=20)
    parser.add_argument("--events", type=int, default=1_000_000, help="episode views")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument(
        "--algorithms",
        default=",".join(a.value for a in Algorithm),
        help="comma-separated: " + ", ".join(a.value for a in Algorithm),
    )
    parser.add_argument(
        "--db-events", type=int, default=100_000, help="views for the run from rows (0: none)"
    )
    parser.add_argument("--backends", default="sqlite,postgresql", help="for the run from rows")
    add_database_option(parser)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    catalog = make_catalog(rng, series=args.series, genres=args.genres)
    audience = simulate(catalog, rng, viewers=args.viewers, genres=args.genres, events=args.events)
    views = sum(v.views for v in audience)
    split = hold_out_last(audience)
    print(
        f"audience: {args.viewers} viewers, {args.series} series in {args.genres} genres, "
        f"{views:,} episode views, {len(split.train):,} histories "
        f"({sum(h.skipped for h in split.train):,} skips); "
        f"{len(split.held_out)} held out; simulated in {time.perf_counter() - started:.1f} s"
    )
    seen = seen_by_viewer(split.train)
    genre_of = {s + 1: f"genre {g}" for s, g in enumerate(catalog.genre)}
    popular = popularity_lists(split.train, split.held_out, seen, CANDIDATES_PER_VIEWER)
    held_out = split.held_out
    rows: list[tuple[str, Score, float | None]] = [
        ("popularity", evaluate(popular, held_out), None),
        ("random", evaluate(random_lists(rng, args.series, held_out, seen), held_out), None),
        (
            "hidden tastes (ceiling)",
            evaluate(oracle_lists(audience, held_out, seen), held_out),
            None,
        ),
    ]
    figures: dict[str, Any] = {}
    for name in args.algorithms.split(","):
        algorithm = Algorithm(name)
        clock = time.perf_counter()
        interactions = Interactions.from_histories(split.train)
        model = fit(interactions, algorithm)
        candidates = {a: [s for s, _ in top] for a, top in model.top_candidates()}
        seconds = time.perf_counter() - clock
        model_order = evaluate({a: candidates.get(a) or popular[a] for a in held_out}, held_out)
        feed_order = evaluate(served(candidates, genre_of, popular), held_out)
        rows.append((f"For You: {name}", model_order, seconds))
        rows.append((f"For You: {name}, feed re-rank", feed_order, seconds))
        figures[name] = {
            "recall": round(model_order.recall, 4),
            "ndcg": round(model_order.ndcg, 4),
            "feed_recall": round(feed_order.recall, 4),
            "feed_ndcg": round(feed_order.ndcg, 4),
            "train_s": round(seconds, 2),
        }

    base = rows[0][1].recall
    print(f"\n{'list':<32} {'recall@10':>10} {'NDCG@10':>9} {'x popularity':>13} {'train s':>8}")
    for label, score, seconds in rows:
        took = f"{seconds:8.1f}" if seconds is not None else f"{'':>8}"
        print(
            f"{label:<32} {score.recall:10.3f} {score.ndcg:9.3f} "
            f"{score.recall / base:12.2f}x {took}"
        )
    print(
        f"(train s: {len(split.train):,} histories -> matrix -> fit -> "
        f"{CANDIDATES_PER_VIEWER} candidates per viewer, on {os.cpu_count()} cores)"
    )

    from_rows: dict[str, Any] = {}
    if args.db_events:
        subset: list[History] = []
        total = 0
        for viewer in audience:
            if total >= args.db_events:
                break
            last = viewer.histories and next(
                (h for h in reversed(viewer.histories) if h.weight > 0), None
            )
            subset += [h for h in viewer.histories if h is not last]
            total += viewer.views
        # The same histories straight into the model: the rows must give the same answer.
        direct = fit(Interactions.from_histories(subset), DEFAULT_ALGORITHM)
        lists = {a: [s for s, _ in top] for a, top in direct.top_candidates()}
        mine = {a: s for a, s in held_out.items() if a in {h.account_id for h in subset}}
        print(
            f"\nthe first viewers' {total:,} views, {len(subset):,} histories, straight into "
            f"the model: recall@10 {evaluate(lists, mine).recall:.3f} for {len(mine)} viewers"
        )
        for backend in args.backends.split(","):
            print(f"from rows, {backend}:")
            with bench_database(backend, args.database, "md_bench_recs") as url:
                account_of = write_rows(url, catalog, subset)
                from_rows[backend] = train_from_rows(url, account_of, held_out)

    chosen = figures.get(DEFAULT_ALGORITHM.value)
    ratio = chosen["recall"] / base if chosen else 0.0
    met = bool(chosen) and ratio >= RECALL_RATIO_TARGET
    fast = bool(chosen) and chosen["train_s"] <= TRAINING_SECONDS_TARGET
    print(
        f"\nFor You ({DEFAULT_ALGORITHM.value}): {ratio:.2f} x popularity's recall@10 "
        f"(target >= {RECALL_RATIO_TARGET}): {'met' if met else 'NOT met'}; "
        f"training {chosen['train_s'] if chosen else float('nan'):.1f} s at {views:,} views "
        f"(target <= {TRAINING_SECONDS_TARGET:.0f} s): {'met' if fast else 'NOT met'}"
    )
    emit_json(
        "recs",
        viewers=args.viewers,
        series=args.series,
        genres=args.genres,
        views=views,
        histories=len(split.train),
        popularity={"recall": round(rows[0][1].recall, 4), "ndcg": round(rows[0][1].ndcg, 4)},
        random={"recall": round(rows[1][1].recall, 4), "ndcg": round(rows[1][1].ndcg, 4)},
        ceiling={"recall": round(rows[2][1].recall, 4), "ndcg": round(rows[2][1].ndcg, 4)},
        algorithms=figures,
        from_rows=from_rows,
        recall_ratio=round(ratio, 3),
        recall_target_met=met,
        training_target_met=fast,
    )


if __name__ == "__main__":
    main()
