"""The demo's simulated audience: a few hundred guest viewers with hidden tastes who watched the
demo series over the last two weeks, so Trending, New, Most binged, the genre rows and For You
differ on the first run.

Every viewer draws, from a generator seeded with their number, the genres they like, the
languages they understand, how often they come back and whether they pay. Their sessions are
spread over the last `AUDIENCE_DAYS` days (never before a series' publication date): a viewer
picks a series by taste, the series' appeal and its novelty, swipes it away in the first
seconds or binges on; at a locked episode a payer may unlock it, and a viewer who liked a
series may follow it. What they did is stored the way the app stores it:

* playback events (start, progress, complete, swipe_away, paywall_shown, unlock) through the
  analytics ingestion the `/api/events` route uses (`prepare` then `store`), a session's events
  as one batch sent as the session ends, so they land in the `episode_views` rollup (folded at
  the end on SQLite);
* coins as a bonus grant through the wallet's ledger, unlocks through the paywall's
  `unlock_with_coins` in a money transaction, so the ledger verifies;
* follows through My list's `follow` (the episodes out then count as seen).

Reruns add nothing: accounts are found by name, a viewer found sends no events again (its
times would differ, being counted from the run's start), an unlocked episode costs nothing twice
and a follow is looked up first.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts import service as accounts_service
from microdrama.accounts.models import Account, Role
from microdrama.analytics import service as analytics_service
from microdrama.catalog import service as catalog_service
from microdrama.catalog.models import EpisodeState
from microdrama.config import Settings
from microdrama.db import run_money_transaction, session_scope, utcnow
from microdrama.demo.accounts import grant_demo_coins
from microdrama.discovery import my_list
from microdrama.paywall import service as paywall_service

AUDIENCE_VIEWERS = 300
AUDIENCE_DAYS = 14
AUDIENCE_SEED = 2026
AUDIENCE_NAME = "Demo audience {number:03d}"
# What a paying viewer is given to spend (a promotion grant, as the demo viewer's coins).
PAYER_COINS = 600
PAYER_SHARE = 0.2
# The player reports progress every few seconds while an episode plays.
PROGRESS_EVERY_MS = 5_000
# A swipe away this early says "not for me" (discovery's EARLY_SWIPE_MS is 3 s).
EARLY_SWIPE_MS = (800, 2_600)
# A viewer who does not understand a series' language rarely gets past its first seconds.
OTHER_LANGUAGE = 0.12
# A series out for fewer days than this draws extra curiosity (New releases, Rising).
NEW_FOR_DAYS = 4


@dataclass(frozen=True)
class AudienceEpisode:
    id: int
    number: int
    duration_ms: int


@dataclass(frozen=True)
class AudienceSeries:
    """A published demo series as the audience sees it."""

    id: int
    genre: str
    language: str
    appeal: float
    released_at: datetime
    free_episodes: int
    episode_price_coins: int
    episodes: tuple[AudienceEpisode, ...]


@dataclass
class AudienceResult:
    viewers: int = 0
    new_viewers: int = 0
    sessions: int = 0
    # Playback events stored by this run (a rerun sends none for the viewers it already made).
    events: int = 0
    views: int = 0
    completions: int = 0
    unlocks: int = 0
    follows: int = 0


@dataclass(frozen=True)
class _Taste:
    """What a viewer likes, hidden from the app: only their behaviour shows it."""

    genres: dict[str, float]  # 0..1, their favourite genre 1
    languages: frozenset[str]
    payer: bool
    sessions: int
    # How readily they go on to the next episode, whatever the series.
    binge: float

    def liking(self, series: AudienceSeries) -> float:
        """0..1: how much this viewer likes the series (their taste times its appeal)."""
        genre = self.genres.get(series.genre, 0.0)
        language = 1.0 if series.language in self.languages else OTHER_LANGUAGE
        return series.appeal * (0.25 + 0.75 * genre) * language


def _taste(rng: random.Random, genres: Sequence[str]) -> _Taste:
    # Gamma(0.4) draws are mostly small with one or two large: a few favourite genres each.
    raw = {genre: rng.gammavariate(0.4, 1.0) for genre in genres}
    top = max(raw.values(), default=1.0) or 1.0
    speaks = rng.random()
    if speaks < 0.22:
        languages = {"es"} | ({"en"} if rng.random() < 0.5 else set())
    elif speaks < 0.32:
        languages = {"pt"} | ({"en"} if rng.random() < 0.5 else set())
    else:
        languages = {"en"}
    return _Taste(
        genres={genre: value / top for genre, value in raw.items()},
        languages=frozenset(languages),
        payer=rng.random() < PAYER_SHARE,
        sessions=min(12, 1 + int(rng.expovariate(1 / 3))),
        binge=rng.uniform(0.55, 0.95),
    )


@dataclass
class _Unlock:
    episode_id: int
    at: datetime


@dataclass
class _Viewer:
    """One simulated viewer's history, decided before anything is stored."""

    number: int
    taste: _Taste
    sessions: list[list[dict[str, Any]]] = field(default_factory=list)
    unlocks: list[_Unlock] = field(default_factory=list)
    follows: dict[int, datetime] = field(default_factory=dict)
    views: int = 0
    completions: int = 0

    @property
    def name(self) -> str:
        return AUDIENCE_NAME.format(number=self.number)


class _Player:
    """Writes one session's events as the player would send them."""

    def __init__(self, rng: random.Random, session_id: str, clock: datetime) -> None:
        self.rng = rng
        self.session_id = session_id
        self.clock = clock
        self.events: list[dict[str, Any]] = []

    def emit(self, kind: str, episode: AudienceEpisode, position_ms: int) -> None:
        self.events.append(
            {
                "event_id": uuid.UUID(int=self.rng.getrandbits(128)).hex,
                "kind": kind,
                "episode_id": episode.id,
                "session_id": self.session_id,
                "position_ms": position_ms,
                "occurred_at": (self.clock + timedelta(milliseconds=position_ms)).isoformat(),
            }
        )

    def play(self, episode: AudienceEpisode, until_ms: int | None) -> None:
        """Play from the start to `until_ms` (swiped away there) or to the end (None)."""
        end_ms = episode.duration_ms if until_ms is None else min(until_ms, episode.duration_ms)
        self.emit("start", episode, 0)
        for position in range(PROGRESS_EVERY_MS, end_ms, PROGRESS_EVERY_MS):
            self.emit("progress", episode, position)
        if until_ms is None:
            self.emit("complete", episode, episode.duration_ms)
        else:
            self.emit("swipe_away", episode, end_ms)
        self.clock += timedelta(milliseconds=end_ms + self.rng.randint(300, 1_500))


def _weight(taste: _Taste, series: AudienceSeries, at: datetime, started: set[int]) -> float:
    """How likely the viewer is to pick the series at `at` (0: not out yet)."""
    if series.released_at > at:
        return 0.0
    weight = 0.05 + taste.liking(series) ** 2
    if at - series.released_at < timedelta(days=NEW_FOR_DAYS):
        weight *= 2.0  # new: on the New row and in For You's exploration slots
    if series.id in started:
        weight *= 0.5  # coming back to a series is the "continue" path's job
    return weight


def _simulate(
    number: int, catalog: Sequence[AudienceSeries], *, seed: int, now: datetime
) -> _Viewer:
    rng = random.Random(f"{seed}:{number}")
    genres = sorted({series.genre for series in catalog})
    viewer = _Viewer(number=number, taste=_taste(rng, genres))
    taste = viewer.taste
    coins = PAYER_COINS if taste.payer else 0
    next_index: dict[int, int] = {}  # series id -> index of the episode to watch next
    unlocked: set[int] = set()
    first_day = now - timedelta(days=AUDIENCE_DAYS)
    span_s = (now - first_day).total_seconds() - 3_600  # every session over an hour ago
    starts = sorted(
        first_day + timedelta(seconds=rng.uniform(0, span_s)) for _ in range(taste.sessions)
    )
    for index, started_at in enumerate(starts):
        player = _Player(rng, f"demo-audience-{number}-{index}", started_at)
        for _visit in range(rng.choice((1, 1, 2, 2, 3))):
            unfinished = [
                s for s in catalog if s.id in next_index and next_index[s.id] < len(s.episodes)
            ]
            liked = [s for s in unfinished if rng.random() < taste.liking(s) + 0.2]
            if liked and rng.random() < 0.6:
                series = rng.choice(liked)  # Continue watching
            else:
                weights = [_weight(taste, s, player.clock, set(next_index)) for s in catalog]
                if not any(weights):
                    break
                series = rng.choices(catalog, weights=weights)[0]
            coins = _watch(viewer, series, player, rng, next_index, unlocked, coins)
        if player.events:
            viewer.sessions.append(player.events)
    return viewer


def _watch(
    viewer: _Viewer,
    series: AudienceSeries,
    player: _Player,
    rng: random.Random,
    next_index: dict[int, int],
    unlocked: set[int],
    coins: int,
) -> int:
    """Watch the series from its next episode until the viewer leaves; the coins left."""
    taste = viewer.taste
    like = taste.liking(series)
    index = next_index.get(series.id, 0)
    while index < len(series.episodes):
        episode = series.episodes[index]
        if episode.number > series.free_episodes and episode.id not in unlocked:
            player.emit("paywall_shown", episode, 0)
            wants = rng.random() < 0.35 + 0.6 * like
            if not (taste.payer and wants and coins >= series.episode_price_coins):
                player.clock += timedelta(seconds=rng.randint(2, 8))
                break
            coins -= series.episode_price_coins
            unlocked.add(episode.id)
            viewer.unlocks.append(_Unlock(episode.id, player.clock))
            player.emit("unlock", episode, 0)
        viewer.views += 1
        if index == 0 and rng.random() > 0.3 + 0.7 * like:
            player.play(episode, rng.randint(*EARLY_SWIPE_MS))  # not for me
            next_index.setdefault(series.id, 0)
            return coins
        if rng.random() > 0.6 + 0.4 * like:
            left_at = rng.randint(
                EARLY_SWIPE_MS[1], max(EARLY_SWIPE_MS[1], episode.duration_ms - 300)
            )
            player.play(episode, left_at)
            next_index[series.id] = index  # left mid-episode: resumes it next time
            return coins
        player.play(episode, None)
        viewer.completions += 1
        index += 1
        next_index[series.id] = index
        if index >= 2 and series.id not in viewer.follows and rng.random() < 0.5 * like:
            viewer.follows[series.id] = player.clock
        if rng.random() > taste.binge * (0.6 + 0.4 * like):
            break
    return coins


def simulate_audience(
    *,
    sessions: sessionmaker[Session],
    engine: Engine,
    settings: Settings,
    catalog: Sequence[AudienceSeries],
    viewers: int = AUDIENCE_VIEWERS,
    seed: int = AUDIENCE_SEED,
    stop: threading.Event | None = None,
) -> AudienceResult:
    """Simulate `viewers` viewers of `catalog` and store what they did (see the module notes)."""
    result = AudienceResult()
    if not catalog:
        return result
    now = utcnow()
    facts = analytics_service.EpisodeFactsCache()
    with session_scope(sessions) as db:
        known = _audience_accounts(db, [AUDIENCE_NAME.format(number=n) for n in range(viewers)])
    for number in range(viewers):
        if stop is not None and stop.is_set():
            break
        viewer = _simulate(number, catalog, seed=seed, now=now)

        def store_money(db: Session, viewer: _Viewer = viewer) -> tuple[int, bool]:
            return _store_money_and_follows(db, settings, viewer, known.get(viewer.name))

        account_id, made = run_money_transaction(sessions, store_money)
        # A viewer an earlier run made sent its events then. Sent again they would be new
        # events on PostgreSQL: their times count from this run's `now`, and the duplicate
        # check there holds the time (the day partitions' key, analytics/partitions.py).
        for events in viewer.sessions if made else []:
            result.events += _send(sessions, account_id, events, facts)
        result.viewers += 1
        result.new_viewers += made
        result.sessions += len(viewer.sessions)
        result.views += viewer.views
        result.completions += viewer.completions
        result.unlocks += len(viewer.unlocks)
        result.follows += len(viewer.follows)
    analytics_service.fold_new_events(engine)  # SQLite: into episode_views now, not later
    return result


def _audience_accounts(db: Session, names: Sequence[str]) -> dict[str, int]:
    """The audience's guest accounts made by an earlier run, by name (no accounts service
    looks guests up by name: a lookup of the demo's own, like seed.py's)."""
    rows = db.execute(
        select(Account.display_name, Account.id)
        .where(Account.display_name.in_(names), Account.is_guest.is_(True))
        .order_by(Account.id)
    )
    known: dict[str, int] = {}
    for name, account_id in rows:
        known.setdefault(name, account_id)
    return known


def _store_money_and_follows(
    db: Session, settings: Settings, viewer: _Viewer, account_id: int | None
) -> tuple[int, bool]:
    """The viewer's account (made if missing, with coins if they pay), unlocks and follows."""
    account = None if account_id is None else accounts_service.get(db=db, account_id=account_id)
    made = account is None
    if account is None:
        account = accounts_service.create_account(db=db, display_name=viewer.name, role=Role.viewer)
        account.is_guest = True  # a guest whose device is gone: no one can sign in as it
        if viewer.taste.payer:
            grant_demo_coins(
                db=db, settings=settings, account_id=account.id, coins=PAYER_COINS, to="audience"
            )
        db.flush()
    for unlock in viewer.unlocks:
        paywall_service.unlock_with_coins(
            db=db,
            settings=settings,
            viewer_id=account.id,
            episode_id=unlock.episode_id,
            now=unlock.at,
        )
    for series_id, at in viewer.follows.items():
        my_list.follow(db, account.id, series_id, at=at)
    return account.id, made


def _send(
    sessions: sessionmaker[Session],
    account_id: int,
    events: list[dict[str, Any]],
    facts: analytics_service.EpisodeFactsCache,
) -> int:
    """One session's events as the device sends them when it ends: through the ingestion the
    `/api/events` route uses, received a moment after the last one; how many were new."""
    last = max(datetime.fromisoformat(event["occurred_at"]) for event in events)
    with session_scope(sessions) as db:
        batch = analytics_service.prepare(
            db=db,
            account_id=account_id,
            raw_events=events,
            now=last + timedelta(seconds=2),
            episodes=facts,
        )
        if batch.rejected:
            raise RuntimeError(f"the demo audience sent refused events: {batch.rejected[:3]}")
        with analytics_service.batch_writer(db):
            stored = analytics_service.store(db=db, batch=batch)
            db.commit()
    return stored.accepted


def audience_catalog(
    *, db: Session, series: Sequence[tuple[int, float, int]], now: datetime | None = None
) -> list[AudienceSeries]:
    """The published series among `series` ((series id, appeal, days it has been out for the
    audience)), with their ready episodes, as the audience sees them."""
    now = now or utcnow()
    found: list[AudienceSeries] = []
    for series_id, appeal, released_days_ago in series:
        row = catalog_service.get(db=db, series_id=series_id)
        if row is None or row.published_at is None:
            continue
        episodes = tuple(
            AudienceEpisode(e.id, e.number, e.duration_ms)
            for e in row.episodes
            if e.state == EpisodeState.ready and e.duration_ms > 0
        )
        if not episodes:
            continue
        released_at = now - timedelta(days=released_days_ago)
        found.append(
            AudienceSeries(
                id=row.id,
                genre=row.genre,
                language=row.language,
                appeal=min(1.0, max(0.0, appeal)),
                released_at=released_at,
                free_episodes=row.free_episodes,
                episode_price_coins=row.episode_price_coins,
                episodes=episodes,
            )
        )
    return found
