"""Browser test builders: a real server seeded with transcoded series, Chromium, viewports."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts import service as accounts
from microdrama.catalog import service as catalog
from microdrama.catalog.schemas import SeriesCreate
from microdrama.catalog.videos import upload_episode
from microdrama.config import Settings
from microdrama.db import make_engine, make_sessionmaker, session_scope
from microdrama.media.jobs import Worker
from microdrama.object_storage import open_storage
from tests.support.clips import cached_clip
from tests.support.database import _empty_all_tables
from tests.support.servers import running_server, server_env

# The journeys run in the browser on SQLite alone (the suite's time on 2 cores): the code they
# reach is covered on both databases by the API tests, and the viewer's and the paywall's
# first journeys run on PostgreSQL behind nginx in front of two web processes
# (test_nginx_journeys.py).
SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--autoplay-policy=no-user-gesture-required",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


@dataclass
class SeededSeries:
    id: int
    title: str
    episode_ids: list[int] = field(default_factory=list)


@dataclass
class Site:
    base_url: str
    data_dir: Path
    series: dict[str, SeededSeries]


@dataclass(frozen=True)
class SeriesPlan:
    title: str
    genre: str
    color: str
    episode_seconds: list[float]
    free_episodes: int = 5
    episode_price_coins: int = 60


def _seed(
    settings: Settings,
    plan: list[SeriesPlan],
    *,
    transcode: Callable[[sessionmaker[Session]], None] | None = None,
) -> dict[str, SeededSeries]:
    """Create, upload, transcode and publish each planned series (transcoded here, or by
    `transcode`, which returns once other processes have done every queued job)."""
    engine = make_engine(settings.effective_database_url)
    _empty_all_tables(engine)
    factory = make_sessionmaker(engine)
    storage = open_storage(settings)  # the folder, or the bucket the settings name
    seeded: dict[str, SeededSeries] = {}
    with session_scope(factory) as db:
        owner = accounts.create_account(db=db, display_name="Test Studio")
        for n, item in enumerate(plan, start=1):
            title = item.title
            series = catalog.create_series(
                db=db,
                owner=owner,
                data=SeriesCreate(
                    title=title,
                    genre=item.genre,
                    synopsis=f"The story of {title}.",
                    free_episodes=item.free_episodes,
                    episode_price_coins=item.episode_price_coins,
                ),
            )
            seeded[title] = SeededSeries(id=series.id, title=title)
            for number, seconds in enumerate(item.episode_seconds, start=1):
                clip = cached_clip(seconds=seconds, label=f"S{n}E{number}", color=item.color)
                episode, _asset, _job = upload_episode(
                    db=db,
                    storage=storage,
                    settings=settings,
                    series=series,
                    owner=owner,
                    filename=clip.name,
                    source=clip,
                )
                seeded[title].episode_ids.append(episode.id)
    if transcode is None:
        worker = Worker(sessions=factory, storage=storage, settings=settings)
        while worker.run_next_job(worker_id="browser-tests"):
            pass
    else:
        transcode(factory)
    with session_scope(factory) as db:
        # Published in plan order, so the feed (newest first) shows the last one on top.
        for item in seeded.values():
            series = catalog.get_visible(db=db, series_id=item.id, viewer=owner)
            assert all(e.state.value == "ready" for e in series.episodes), series.episodes
            catalog.publish(db=db, series=series)
            db.flush()
            time.sleep(0.01)  # distinct published_at on every backend
    engine.dispose()
    return seeded


@contextmanager
def serve_site(
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    plan: list[SeriesPlan],
    *,
    prepare: Callable[[Site], None] | None = None,
) -> Iterator[Site]:
    """The planned series, transcoded and published, served by uvicorn on a free port.
    `prepare(site)` adds the test's own rows before the server starts, so its first answers
    (and what it caches, like the feed's shared pools) already include them."""
    data_dir = tmp_path_factory.mktemp("browser-data")
    settings = Settings(
        environment="test",
        data_dir=data_dir,
        database_url=database_url,
        embedded_worker=False,
        ladder_heights=[426],  # one rung, as server_env's: half the seeding's transcode time
        x264_preset="ultrafast",
    )
    seeded = _seed(settings, plan)
    site = Site(base_url="", data_dir=data_dir, series=seeded)
    if prepare is not None:
        prepare(site)
    env = server_env(database_url=database_url, data_dir=data_dir)
    with running_server(env, data_dir / "server.log") as base_url:
        site.base_url = base_url
        yield site


def _context(browser: Browser, site: Site, *, phone: bool) -> BrowserContext:
    context = browser.new_context(
        base_url=site.base_url,
        viewport=PHONE if phone else DESKTOP,
        has_touch=phone,
        is_mobile=phone,
    )
    context.set_default_timeout(20_000)
    return context
