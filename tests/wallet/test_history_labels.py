"""The wallet's history in words: every line named for people, ad unlocks included."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.config import Settings
from microdrama.paywall import ads
from microdrama.wallet import ledger
from microdrama.wallet.models import LedgerTransaction
from tests.support.factories import make_series
from tests.support.wallet import top_up


def _viewer_id(client: TestClient) -> int:
    return int(client.get("/api/me").json()["id"])


def _history(client: TestClient) -> list[dict[str, object]]:
    return client.get("/api/wallet/history").json()["items"]  # type: ignore[no-any-return]


def test_an_ad_unlock_shows_in_the_history_beside_paid_unlocks_and_check_ins(
    client: TestClient, db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    series = make_series(db, title="Night Shift", episodes=4, free_episodes=1)
    db.commit()
    episodes = client.get(f"/api/series/{series.id}").json()["episodes"]
    viewer_id = _viewer_id(client)
    top_up(db_factory, settings, viewer_id, coins=500, amount_cents=499)
    paid = client.post(
        f"/api/episodes/{episodes[1]['id']}/unlock",
        json={"method": "coins"},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert paid.status_code == 200, paid.text
    query = ads.callback_query(
        settings=settings, viewer_id=viewer_id, episode_id=episodes[2]["id"], transaction_id="t-1"
    )
    assert client.get(f"/api/ads/ssv?{query}").json()["granted"] is True
    assert client.post("/api/wallet/checkin").status_code == 200

    lines = [(i["label"], i["memo"], i["paid_coins"] + i["bonus_coins"]) for i in _history(client)]

    assert lines[0][0] == "Daily check-in"
    assert lines[1:] == [
        ("Watched an ad", "Unlocked episode 3 of Night Shift", 0),
        ("Episode unlock", "Unlocked episode 2 of Night Shift", -60),
        ("Coin pack", "Bought 500 coins", 500),
    ]
    # The ad unlock moved nothing: the books still balance to the coin.
    assert ledger.verify(db=db) == []


def test_a_rewarded_ad_that_unlocks_nothing_adds_no_history_line(
    client: TestClient, db: Session, settings: Settings
) -> None:
    series = make_series(db, episodes=2, free_episodes=2)
    db.commit()
    free = client.get(f"/api/series/{series.id}").json()["episodes"][0]["id"]
    query = ads.callback_query(
        settings=settings, viewer_id=_viewer_id(client), episode_id=free, transaction_id="t-2"
    )

    assert client.get(f"/api/ads/ssv?{query}").json()["granted"] is False
    assert _history(client) == []


def test_every_kind_of_movement_has_a_label_in_words(
    client: TestClient, db: Session, settings: Settings
) -> None:
    viewer_id = _viewer_id(client)
    kinds = [
        "purchase", "vip", "unlock", "unlock_refund", "ad_unlock", "refund", "bonus",
        "bonus_expiry", "order_payment", "order_refund", "payout", "payout_paid", "vip_share",
    ]  # fmt: skip
    for kind in kinds:
        db.add(LedgerTransaction(kind=kind, actor_id=viewer_id, memo="", details={}))
    db.add(LedgerTransaction(kind="bonus", actor_id=viewer_id, details={"source": "checkin"}))
    db.commit()

    labels = {(i["kind"], i["label"]) for i in _history(client)}

    assert ("order_payment", "Shop order") in labels
    assert ("purchase", "Coin pack") in labels
    assert ("bonus", "Daily check-in") in labels
    for kind, label in labels:
        assert "_" not in label and label != kind, (kind, label)
