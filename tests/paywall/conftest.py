"""A published series with one free and one paid episode, really transcoded and encrypted
(ffmpeg runs once per test process; each test's worker gets its ladder from TranscodeReplay)."""

from __future__ import annotations

import threading

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.catalog import service as catalog_service
from microdrama.catalog import videos
from microdrama.catalog.models import Episode, Series
from microdrama.config import Settings
from microdrama.media import jobs
from microdrama.storage import LocalStorage
from tests.support.clips import cached_clip
from tests.support.factories import make_creator
from tests.support.media import TranscodeReplay
from tests.support.paywall import PRICE_COINS, ClientFactory, Show


@pytest.fixture
def storage(app: FastAPI) -> LocalStorage:
    storage: LocalStorage = app.state.storage
    return storage


@pytest.fixture(scope="session")
def transcode_replay(tmp_path_factory: pytest.TempPathFactory) -> TranscodeReplay:
    return TranscodeReplay(tmp_path_factory.mktemp("transcoded"))


@pytest.fixture
def show(
    db: Session,
    db_factory: sessionmaker[Session],
    storage: LocalStorage,
    settings: Settings,
    transcode_replay: TranscodeReplay,
    monkeypatch: pytest.MonkeyPatch,
) -> Show:
    """Episode 1 free, episode 2 at 90 coins; both transcoded (one small rung) and encrypted.

    The paywall's tests are about who gets the ladder and its keys, not about encoding it
    (tests/media does that): the upload and the worker run as ever, but ffmpeg runs only for
    the process's first show, whose ladders and keys every later show gets again (its two
    episodes still with a key each)."""
    settings.ladder_heights = [320]
    monkeypatch.setattr(jobs, "transcode", transcode_replay.transcode)
    monkeypatch.setattr(jobs, "new_aes_key", transcode_replay.aes_keys())
    owner = make_creator(db)
    series = Series(
        title="The Heiress Returns",
        owner_id=owner.id,
        free_episodes=1,
        episode_price_coins=PRICE_COINS,
    )
    db.add(series)
    db.flush()
    episode_ids = []
    for number in (1, 2):
        clip = cached_clip(seconds=3, label=f"E{number}")
        episode, _asset, _job = videos.upload_episode(
            db=db,
            storage=storage,
            settings=settings,
            series=series,
            owner=owner,
            filename=clip.name,
            source=clip,
        )
        episode_ids.append(episode.id)
    db.commit()
    worker = jobs.Worker(sessions=db_factory, storage=storage, settings=settings)
    while worker.run_next_job(worker_id="protection-tests", stop=threading.Event()):
        pass
    db.expire_all()
    catalog_service.publish(db=db, series=series)
    db.commit()
    keys = {}
    for episode_id in episode_ids:
        episode = db.get(Episode, episode_id)
        assert episode is not None and episode.media_asset is not None
        assert episode.state.value == "ready"
        assert episode.media_asset.aes_key is not None
        keys[episode_id] = episode.media_asset.aes_key
    return Show(series.id, episode_ids[0], episode_ids[1], keys)


@pytest.fixture
def new_device(app: FastAPI) -> ClientFactory:
    """Another browser: a cookie jar of its own, so a guest account of its own."""

    def make() -> TestClient:
        client = TestClient(app)
        assert client.get("/api/me").status_code == 200  # the device cookie is set
        return client

    return make
