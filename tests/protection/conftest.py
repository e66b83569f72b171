"""A published series with one free and one paid episode, really transcoded and encrypted."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.catalog import service as catalog_service
from microdrama.catalog.models import Episode, Series
from microdrama.config import Settings
from microdrama.db import utcnow
from microdrama.media import jobs, service
from microdrama.media.models import MediaAsset
from microdrama.media.storage import LocalStorage
from microdrama.payments.models import (
    Purchase,
    PurchaseKind,
    PurchaseStatus,
    VipPass,
    VipPlan,
)
from microdrama.paywall import service as paywall
from microdrama.paywall.models import UnlockMethod
from tests.clips import cached_clip
from tests.factories import make_creator

PRICE_COINS = 90


@dataclass
class Show:
    series_id: int
    free_episode_id: int
    paid_episode_id: int
    keys: dict[int, bytes]  # episode id -> its segments' AES key


@pytest.fixture
def storage(app: FastAPI) -> LocalStorage:
    storage: LocalStorage = app.state.storage
    return storage


@pytest.fixture
def show(
    db: Session, db_factory: sessionmaker[Session], storage: LocalStorage, settings: Settings
) -> Show:
    """Episode 1 free, episode 2 at 90 coins; both transcoded (one small rung) and encrypted."""
    settings.ladder_heights = [320]
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
        episode, _asset, _job = service.upload_episode(
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
    while jobs.run_next_job(
        sessionmaker=db_factory,
        storage=storage,
        settings=settings,
        worker_id="protection-tests",
        stop=threading.Event(),
    ):
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


ClientFactory = Callable[[], TestClient]


@pytest.fixture
def new_device(app: FastAPI) -> ClientFactory:
    """Another browser: a cookie jar of its own, so a guest account of its own."""

    def make() -> TestClient:
        client = TestClient(app)
        assert client.get("/api/me").status_code == 200  # the device cookie is set
        return client

    return make


def viewer_id(client: TestClient) -> int:
    return int(client.get("/api/me").json()["id"])


def unlock(db: Session, account_id: int, episode_id: int) -> None:
    """The viewer holds an unlock of the episode (as a coin unlock leaves it)."""
    episode = db.get(Episode, episode_id)
    assert episode is not None
    paywall.grant_unlock(db=db, viewer_id=account_id, episode=episode, method=UnlockMethod.coins)
    db.commit()


def give_vip(db: Session, account_id: int, *, days_left: float) -> None:
    """A VIP pass for the viewer that ends `days_left` from now (negative: already over)."""
    plan = VipPlan(code=f"weekly-{account_id}", name="Weekly", period_days=7, price_cents=1999)
    db.add(plan)
    db.flush()
    purchase = Purchase(
        account_id=account_id,
        kind=PurchaseKind.vip,
        vip_plan_id=plan.id,
        amount_cents=1999,
        provider="test",
        status=PurchaseStatus.paid,
        paid_at=utcnow(),
    )
    db.add(purchase)
    db.flush()
    ends_at = utcnow() + timedelta(days=days_left)
    db.add(
        VipPass(
            account_id=account_id,
            plan_id=plan.id,
            purchase_id=purchase.id,
            starts_at=ends_at - timedelta(days=7),
            ends_at=ends_at,
        )
    )
    db.commit()


def variant_url(client: TestClient, episode_id: int) -> str:
    """The first variant of the episode's gated master playlist."""
    master = client.get(f"/api/episodes/{episode_id}/hls/master.m3u8")
    assert master.status_code == 200, master.text
    return next(line for line in master.text.splitlines() if line and not line.startswith("#"))


def key_url_in(playlist: str) -> str:
    found = re.search(r'#EXT-X-KEY:.*URI="([^"]+)"', playlist)
    assert found, playlist
    return found.group(1)


def key_url_for(client: TestClient, episode_id: int) -> str:
    """The key URL the viewer's media playlist carries (a fresh, viewer-bound token)."""
    playlist = client.get(variant_url(client, episode_id))
    assert playlist.status_code == 200, playlist.text
    return key_url_in(playlist.text)


def asset_of(db: Session, episode_id: int) -> MediaAsset:
    episode = db.get(Episode, episode_id)
    assert episode is not None and episode.media_asset is not None
    return episode.media_asset
