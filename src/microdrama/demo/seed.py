"""Seed the demo catalog through the creator's own path: upload, transcode job, publish.

What a run does, and what happens when it is interrupted:

* A demo creator account owns the series. Each series is created as a **draft**; its clips are
  rendered (two ffmpeg processes at a time) and each is ingested with
  `catalog.videos.upload_episode` (the upload route's own function: probe, store the source,
  queue a transcode job) and committed on its own. In-process worker threads run the queue
  with `media.jobs.Worker` while the rendering goes on.
* The catalog is worked through in order: the first series' clips are rendered, ingested and
  (the job queue runs oldest first) transcoded before the others', so it plays early while the
  rest are still being made. A series is published as soon as **every** one of its episodes is
  ready (not before, so the feed never shows a half-seeded series, whatever moment a crash
  happens at), with a publication time that keeps the catalog's order in the newest-first
  feed. Progress goes to a file in the data folder (`microdrama.demo.status`) that the feed
  shows.
* `stop` (set when the server that started the seed shuts down) ends the run early: renders
  not yet started are dropped, and the next run resumes what is left.
* A rerun resumes instead of duplicating: a demo series that is already published is left
  alone; a draft demo series left by an interrupted run keeps its episodes, gets the missing
  ones, and its queued jobs are transcoded (a job the dead run was holding is claimed again
  once its lease expires, settings.job_lease_seconds). A draft with a *failed* episode is
  reported and left unpublished (delete the data directory to start from scratch).
* Once a series is published, the demo brand gets what is missing of its products, campaigns
  and placements on the published demo series (`demo.brand.seed_brand`, one short
  transaction).
* `if_empty` skips the whole run when the database holds any series other than unfinished
  demo drafts, so `dev.sh serve` seeds once and completes an interrupted seed on next start.
* The full demo (three full series or more) also gets the short series of
  short_series.toml: every episode of their script, a few seconds long at one small rung
  (rendered at SHORT_WIDTH x SHORT_HEIGHT, the ladder keeps no rung taller than its source),
  seeded after the full series, with publication dates `released_days_ago` back. Once every
  series is out, a simulated audience (demo/audience.py) watches, unlocks and follows them, so
  discovery has something to show; a rerun adds nothing to it (a stopped run leaves it to
  the next `microdrama seed-demo`). Smaller demos (tests, benchmarks) get neither unless asked.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts import service as accounts_service
from microdrama.accounts.models import Account
from microdrama.ai.cue_cutter import TimedCue
from microdrama.catalog import service as catalog_service
from microdrama.catalog import videos
from microdrama.catalog.models import EpisodeState, Series, SeriesStatus
from microdrama.config import Settings
from microdrama.db import make_engine, make_sessionmaker, session_scope, utcnow
from microdrama.demo import speech
from microdrama.demo.accounts import DemoLogins, ensure_demo_accounts
from microdrama.demo.audience import (
    AUDIENCE_DAYS,
    AUDIENCE_VIEWERS,
    AudienceResult,
    audience_catalog,
    simulate_audience,
)
from microdrama.demo.brand import seed_brand
from microdrama.demo.catalog import (
    DEMO_CREATOR_NAME,
    DEMO_SERIES,
    DEMO_SHORT_SERIES,
    DemoEpisode,
    DemoSeries,
)
from microdrama.demo.clips import ClipSpec, render_clip
from microdrama.demo.status import SeedProgress, StatusFile
from microdrama.demo.writers_room import seed_project
from microdrama.discovery import rankings
from microdrama.media import jobs as media_jobs
from microdrama.media import service as media_service
from microdrama.media.models import JobState
from microdrama.object_storage import open_storage
from microdrama.storage import Storage
from microdrama.subtitles import service as subtitles
from microdrama.subtitles.service import Cue

POLL_SECONDS = 0.25
# The demo people see: this many full series, and then the short ones and the audience.
FULL_DEMO_SERIES = 3
SHORT_SECONDS = 4.0
SHORT_WIDTH, SHORT_HEIGHT = 360, 640


@dataclass
class SeededSeries:
    """What the run did with one demo series."""

    title: str
    genre: str
    series_id: int
    language: str = "en"
    # Its publication is dated this many days back (short series; the full ones: now).
    released_days_ago: int = 0
    # How much the simulated audience likes it (demo/audience.py).
    appeal: float = 0.5
    episodes: int = 0
    runtime_ms: int = 0
    free_episodes: int = 0
    episode_price_coins: int = 0
    # "published", "already published", or "unpublished: <reason>".
    outcome: str = ""

    def count_ready(self, series: Series) -> None:
        """Count the series' ready episodes and their runtime."""
        ready = [e for e in series.episodes if e.state == EpisodeState.ready]
        self.episodes = len(ready)
        self.runtime_ms = sum(e.duration_ms for e in ready)


@dataclass
class SeedResult:
    skipped: bool = False
    series: list[SeededSeries] = field(default_factory=list)
    clips_rendered: int = 0
    # The demo brand's placements in place after the run (new or from an earlier run).
    placements: int = 0
    seconds: float = 0.0
    # The run was asked to stop before it was done (a rerun completes it).
    stopped: bool = False
    # The demo's logins (demo/accounts.py); `created` says which are new this run.
    logins: DemoLogins | None = None
    # What the simulated audience did (None: no audience this run).
    audience: AudienceResult | None = None

    @property
    def ok(self) -> bool:
        return self.skipped or all(s.outcome.endswith("published") for s in self.series)


@dataclass
class _Planned:
    """One episode of the run: to render and ingest, or already ingested by an earlier run."""

    series_index: int
    number: int
    job_id: int | None = None
    spec: ClipSpec | None = None
    # What is said on the clip (None: not voiced), and its captions once heard.
    episode: DemoEpisode | None = None
    captions: tuple[TimedCue, ...] = ()


# The demo needs a few lookups no catalog service offers (a series by owner and title, "is there
# any other series"); they read the tables directly, here only.


def _demo_creator(db: Session) -> Account | None:
    return accounts_service.get_named(db=db, display_name=DEMO_CREATOR_NAME)


def _demo_series(db: Session, creator: Account, title: str) -> Series | None:
    return db.scalar(
        select(Series)
        .where(Series.owner_id == creator.id, Series.title == title)
        .order_by(Series.id)
        .limit(1)
    )


def _other_series_exist(db: Session, creator: Account | None) -> bool:
    query = select(Series.id)
    if creator is not None:
        unfinished_demo = (Series.owner_id == creator.id) & (
            Series.status != SeriesStatus.published
        )
        query = query.where(~unfinished_demo)
    return db.scalar(query.limit(1)) is not None


@dataclass(frozen=True)
class _Shape:
    """How much of a series to make: its episodes, their length and size."""

    episodes: int
    seconds: float
    width: int
    height: int

    def clip(self, demo: DemoSeries, number: int) -> ClipSpec:
        script = demo.episodes[(number - 1) % len(demo.episodes)]
        return ClipSpec(
            series_title=demo.title,
            episode_number=number,
            episode_title=script.title,
            dialogue=script.dialogue,
            scene=script.scene,
            look=demo.look,
            seconds=self.seconds,
            width=self.width,
            height=self.height,
            language=demo.language,
        )


def seed_demo(
    *,
    settings: Settings,
    series_count: int = 3,
    episodes_per_series: int = 8,
    seconds: float = 15.0,
    if_empty: bool = False,
    render_parallel: int = 2,
    transcode_workers: int = 1,
    width: int = 720,
    height: int = 1280,
    progress: SeedProgress | None = None,
    stop: threading.Event | None = None,
    short_series: int | None = None,
    audience_viewers: int | None = None,
) -> SeedResult:
    """Create, render, ingest, transcode and publish the demo series (see the module notes).

    `transcode_workers=0` leaves the transcoding to workers running elsewhere (the server's
    embedded worker when `serve` seeds in the background). `short_series` (default: all of
    them with the full demo, none with fewer than FULL_DEMO_SERIES) and `audience_viewers`
    (default: AUDIENCE_VIEWERS when there are short series, else none) size the discovery
    part of the demo."""
    started = time.monotonic()
    stop = stop or threading.Event()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.effective_database_url)
    sessions = make_sessionmaker(engine)
    storage = open_storage(settings)
    if short_series is None:
        short_series = len(DEMO_SHORT_SERIES) if series_count >= FULL_DEMO_SERIES else 0
    if audience_viewers is None:
        audience_viewers = AUDIENCE_VIEWERS if short_series > 0 else 0
    full = _Shape(episodes_per_series, seconds, width, height)
    short = _Shape(0, SHORT_SECONDS, min(width, SHORT_WIDTH), min(height, SHORT_HEIGHT))
    catalog = [(demo, full) for demo in DEMO_SERIES[: max(0, series_count)]] + [
        (demo, replace(short, episodes=len(demo.episodes)))
        for demo in DEMO_SHORT_SERIES[: max(0, short_series)]
    ]
    try:
        with session_scope(sessions) as db:
            creator = _demo_creator(db)
            if if_empty and _other_series_exist(db, creator):
                return SeedResult(skipped=True, seconds=time.monotonic() - started)
            logins = ensure_demo_accounts(db=db, settings=settings)
            creator = logins.creator
            creator_id = creator.id
            seed_project(db=db, creator=creator)
            result, planned = _plan(db, creator, catalog)
            result.logins = logins
        if progress is not None:
            progress.logins(logins)
        to_render = [p for p in planned if p.spec is not None]
        progress = StatusFile(
            settings.data_dir, progress or SeedProgress(), series_total=len(result.series)
        )
        progress.start(episodes_total=len(planned), episodes_to_render=len(to_render))
        run = _Run(sessions, storage, settings, creator_id, result, planned, progress, stop)
        run.demos = [demo for demo, _shape in catalog]
        with tempfile.TemporaryDirectory(prefix="microdrama-demo-") as tmp:
            run.render_ingest_transcode(
                clip_dir=Path(tmp),
                render_parallel=render_parallel,
                transcode_workers=transcode_workers,
            )
        result.clips_rendered = len([p for p in to_render if p.job_id is not None])
        with session_scope(sessions) as db:
            result.placements = _seed_brand(db, storage, creator_id, result)
        if audience_viewers > 0 and not stop.is_set():
            with session_scope(sessions) as db:
                watched = audience_catalog(db=db, series=_audience_series(result))
            result.audience = simulate_audience(
                sessions=sessions,
                engine=engine,
                settings=settings,
                catalog=watched,
                viewers=audience_viewers,
                stop=stop,
            )
            progress.audience(result.audience)
            _compute_discovery(sessions)
        result.stopped = stop.is_set()
        result.seconds = time.monotonic() - started
        return result
    finally:
        if progress is not None:
            progress.finish()
        engine.dispose()


def _compute_discovery(sessions: sessionmaker[Session]) -> None:
    """The ranking charts and For You computed once from the audience's events, so that they
    show on the first run (their jobs keep them current afterwards)."""
    # Imported here, as cli_discovery does: numpy, scipy and implicit take seconds to load,
    # and the server that runs the seed in the background must answer at once.
    from microdrama.discovery import training

    rankings.refresh_in_own_transaction(sessions)
    training.train(sessions)


def _audience_series(result: SeedResult) -> list[tuple[int, float, int]]:
    """(series id, appeal, days out) of the published demo series, for the audience; the full
    series, published by this seed, are the flagship shows it has been watching all along."""
    return [
        (s.series_id, s.appeal, s.released_days_ago or AUDIENCE_DAYS)
        for s in result.series
        if s.outcome.endswith("published")
    ]


def _plan(
    db: Session, creator: Account, catalog: list[tuple[DemoSeries, _Shape]]
) -> tuple[SeedResult, list[_Planned]]:
    seeded_in_order: dict[int, SeededSeries] = {}
    planned: list[_Planned] = []
    # The first series first: its clips are rendered and queued for transcoding before the
    # others', so it is the first to play.
    for index in range(len(catalog)):
        demo, shape = catalog[index]
        series = _demo_series(db, creator, demo.title)
        if series is None:
            series = catalog_service.create_series(db=db, owner=creator, data=demo.create_data())
        seeded = SeededSeries(
            title=demo.title,
            genre=demo.genre,
            series_id=series.id,
            language=demo.language,
            released_days_ago=demo.released_days_ago,
            appeal=demo.appeal,
            free_episodes=series.free_episodes,
            episode_price_coins=series.episode_price_coins,
        )
        seeded_in_order[index] = seeded
        if series.status == SeriesStatus.published:
            seeded.outcome = "already published"
            seeded.count_ready(series)
            continue
        existing = {e.number: e for e in series.episodes}
        for number in sorted(set(existing) | set(range(1, shape.episodes + 1))):
            episode = existing.get(number)
            if episode is None:
                spec = shape.clip(demo, number)
                script = demo.episodes[(number - 1) % len(demo.episodes)]
                planned.append(
                    _Planned(series_index=index, number=number, spec=spec, episode=script)
                )
            elif episode.media_asset is not None and episode.media_asset.jobs:
                job_id = episode.media_asset.jobs[-1].id
                planned.append(_Planned(series_index=index, number=number, job_id=job_id))
    result = SeedResult(series=[seeded_in_order[i] for i in range(len(catalog))])
    return result, planned


@dataclass
class _Run:
    """One seed run past its plan: where it writes, what it does, and what it has done."""

    sessions: sessionmaker[Session]
    storage: Storage
    settings: Settings
    creator_id: int
    result: SeedResult
    planned: list[_Planned]
    progress: SeedProgress
    stop: threading.Event
    # The transcoder's progress of running jobs, finer than what it writes to the job row.
    live_progress: dict[int, float] = field(default_factory=dict)
    # The demo series of the run, by series index (their scripts and voices).
    demos: list[DemoSeries] = field(default_factory=list)

    def on_progress(self, job_id: int, fraction: float) -> None:
        self.live_progress[job_id] = fraction

    def label(self, item: _Planned) -> str:
        return f"{self.result.series[item.series_index].title} #{item.number}"

    def render_ingest_transcode(
        self, *, clip_dir: Path, render_parallel: int, transcode_workers: int
    ) -> None:
        # The seed's own workers stop when the run ends (or is stopped), whatever the caller
        # does.
        workers = media_jobs.EmbeddedWorker(
            settings=self.settings,
            sessionmaker=self.sessions,
            storage=self.storage,
            concurrency=transcode_workers,
            name="seed-demo",
            on_progress=self.on_progress,
            poll_seconds=min(self.settings.worker_poll_seconds, 0.5),
        )
        if transcode_workers > 0:
            workers.start()
        pool = ThreadPoolExecutor(max_workers=max(1, render_parallel))
        # Later series wait until the first one is out: its transcodes get both cores, so the
        # first series plays as early as possible (what a newcomer waits for).
        first_out = _FirstSeriesOut(first=min((p.series_index for p in self.planned), default=0))
        try:
            renders: dict[Future[Path], _Planned] = {}
            for item in self.planned:
                if item.spec is not None:
                    path = clip_dir / f"s{item.series_index}e{item.number:02d}.mp4"
                    if item.series_index == first_out.first:
                        future = pool.submit(self.render, item, path)
                    else:
                        future = pool.submit(first_out.then_render, self.render, item, path)
                    renders[future] = item
            self.follow(renders, first_out)
        finally:
            # Renders not yet started are dropped when stopping; running ones end within
            # seconds.
            first_out.abandon.set()
            pool.shutdown(wait=True, cancel_futures=True)
            workers.stop(timeout_s=None)

    def follow(self, renders: dict[Future[Path], _Planned], first_out: _FirstSeriesOut) -> None:
        """Ingest clips as they are rendered, watch the jobs, publish each series once
        complete."""
        pending = set(renders)
        finished: dict[int, JobState] = {}
        open_series = {
            i for i, s in enumerate(self.result.series) if not s.outcome.endswith("published")
        }
        # Publication times step back from now in catalog order, so the newest-first feed
        # lists the first series on top although it is published first.
        published_at = utcnow()
        while (pending or open_series) and not self.stop.is_set():
            if pending:
                done, pending = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
                for future in done:
                    item = renders[future]
                    self.ingest(item, future.result())
                    self.progress.rendered(self.label(item))
            else:
                time.sleep(POLL_SECONDS)
            running: list[str] = []
            fraction = 0.0
            with session_scope(self.sessions) as db:
                for item in self.planned:
                    if item.job_id is None:
                        continue
                    if item.job_id not in finished:
                        job = media_service.get_job(db=db, job_id=item.job_id)
                        if job.state in (JobState.done, JobState.failed):
                            finished[item.job_id] = job.state
                        elif job.state == JobState.running:
                            share = max(job.progress, self.live_progress.get(item.job_id, 0.0))
                            fraction += min(share, 0.99)
                            running.append(self.label(item))
                fraction += len(finished)
            self.progress.transcoding(done=fraction, running=running)
            for index in sorted(open_series):
                days = self.result.series[index].released_days_ago
                at = published_at - timedelta(days=days, seconds=index)
                if self.maybe_publish(finished, index, open_series, at):
                    self.progress.published(self.result.series[index].title)
                    with session_scope(self.sessions) as db:
                        _seed_brand(db, self.storage, self.creator_id, self.result)
            if first_out.first not in open_series:  # published, or refused: a failed episode
                first_out.done.set()

    def render(self, item: _Planned, path: Path) -> Path:
        """Voice the episode's lines (demo/speech.py), hear its captions, render its clip."""
        assert item.spec is not None
        spec = item.spec
        if item.episode is not None and item.episode.spoken and spec.language == "en":
            series = self.demos[item.series_index]
            data_dir = self.settings.data_dir
            spoken = speech.speak_episode(
                series, item.episode, seconds=spec.seconds, data_dir=data_dir
            )
            if spoken is not None:
                spec = replace(spec, speech=str(spoken.wav), dialogue_at=spoken.dialogue_at_s)
                item.captions = speech.captions(spoken, data_dir=data_dir)
        return render_clip(spec, path)

    def ingest(self, item: _Planned, clip: Path) -> None:
        """Hand a rendered clip to the upload path, as the studio's upload route does."""
        assert item.spec is not None
        with session_scope(self.sessions) as db:
            owner = accounts_service.get(db=db, account_id=self.creator_id)
            series_id = self.result.series[item.series_index].series_id
            series = catalog_service.get(db=db, series_id=series_id)
            assert owner is not None and series is not None
            _episode, _asset, job = videos.upload_episode(
                db=db,
                storage=self.storage,
                settings=self.settings,
                series=series,
                owner=owner,
                filename=f"{item.spec.series_title} - episode {item.number}.mp4",
                source=clip,
                title=item.spec.episode_title,
                number=item.number,
            )
            item.job_id = job.id
            cues = [
                Cue(c.start_ms, min(c.end_ms, round(item.spec.seconds * 1000)), c.text)
                for c in item.captions
                if c.start_ms < item.spec.seconds * 1000 - 200
            ]
            if cues:
                subtitles.save_track(
                    db=db,
                    storage=self.storage,
                    episode=_episode,
                    language="en",
                    label="English",
                    cues=cues,
                    draft=False,
                )
        clip.unlink(missing_ok=True)  # the storage holds its own copy now

    def maybe_publish(
        self,
        finished: dict[int, JobState],
        index: int,
        open_series: set[int],
        published_at: datetime,
    ) -> bool:
        """Publish the series if all of its episodes are done; True if it was published now."""
        items = [p for p in self.planned if p.series_index == index]
        if any(p.job_id is None or p.job_id not in finished for p in items):
            return False
        seeded = self.result.series[index]
        open_series.discard(index)
        failed = [
            p.number
            for p in items
            if p.job_id is not None and finished[p.job_id] == JobState.failed
        ]
        with session_scope(self.sessions) as db:
            series = catalog_service.get(db=db, series_id=seeded.series_id)
            assert series is not None
            seeded.count_ready(series)
            if failed or not seeded.episodes:
                seeded.outcome = f"unpublished: episodes {failed} failed to transcode"
                return False
            catalog_service.publish(db=db, series=series, at=published_at)
            seeded.outcome = "published"
            return True


class _FirstSeriesOut:
    """Holds later series' renders until the first series is published (or has failed)."""

    def __init__(self, *, first: int) -> None:
        self.first = first
        self.done = threading.Event()
        # Set when the run ends early: renders still held give up instead of waiting.
        self.abandon = threading.Event()

    def then_render(
        self, render: Callable[[_Planned, Path], Path], item: _Planned, path: Path
    ) -> Path:
        while not self.done.wait(POLL_SECONDS):
            if self.abandon.is_set():
                raise CancelledError
        return render(item, path)


def _seed_brand(db: Session, storage: Storage, creator_id: int, result: SeedResult) -> int:
    """The demo brand on the demo series published so far; how many placements it has."""
    published = {
        index: seeded.series_id
        for index, seeded in enumerate(result.series)
        if seeded.outcome.endswith("published")
    }
    return seed_brand(db=db, storage=storage, creator_id=creator_id, published=published)
