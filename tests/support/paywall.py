"""Paywall builders: a transcoded show's ids and keys, an unlock, a VIP pass, the gated URLs."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from microdrama.catalog.models import Episode
from microdrama.db import utcnow
from microdrama.media.models import MediaAsset
from microdrama.payments.models import Purchase, PurchaseKind, PurchaseStatus, VipPass, VipPlan
from microdrama.paywall import service as paywall
from microdrama.paywall.models import UnlockMethod

PRICE_COINS = 90


@dataclass
class Show:
    series_id: int
    free_episode_id: int
    paid_episode_id: int
    keys: dict[int, bytes]  # episode id -> its segments' AES key


ClientFactory = Callable[[], TestClient]


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
