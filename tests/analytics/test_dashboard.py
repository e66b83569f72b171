"""The series dashboard: paywall conversion by method, revenue from the ledger, date ranges,
CSV, and who may read it."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts import service as accounts
from microdrama.accounts.models import Account, Role, SessionKind
from microdrama.catalog.models import Episode
from microdrama.config import Settings
from microdrama.db import session_scope
from microdrama.paywall import service as paywall
from microdrama.paywall.models import UnlockMethod
from tests.support.analytics import event
from tests.support.factories import make_creator, make_series
from tests.support.payments import pay, start_purchase, viewer
from tests.support.wallet import top_up


def bearer(factory: sessionmaker[Session], settings: Settings, account_id: int) -> dict[str, str]:
    with session_scope(factory) as db:
        account = db.get(Account, account_id)
        assert account is not None
        token, _ = accounts.start_session(
            db=db, settings=settings, account=account, kind=SessionKind.bearer
        )
    return {"Authorization": f"Bearer {token}"}


def send(client: TestClient, *events: dict[str, Any]) -> None:
    answer = client.post("/api/events", json={"events": list(events)})
    assert answer.status_code == 200 and answer.json()["rejected"] == [], answer.text


def test_paywall_conversion_is_split_by_how_viewers_unlocked_and_revenue_comes_from_the_ledger(
    app: FastAPI, db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    series = make_series(db, episodes=3, free_episodes=1)
    db.commit()
    free, locked, _ = series.episodes
    owner = bearer(db_factory, settings, series.owner_id)
    # Four viewers finish the free episode and meet the paywall on episode 2.
    browsers = [viewer(app) for _ in range(4)]
    for client, _ in browsers:
        send(
            client,
            event(free.id, "start"),
            event(free.id, "complete"),
            event(locked.id, "paywall_shown"),
        )
    (coins, coins_id), (ad, ad_id), (vip, _), (leaver, _) = browsers
    top_up(db_factory, settings, coins_id, coins=100)
    answer = coins.post(
        f"/api/episodes/{locked.id}/unlock",
        json={"method": "coins"},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert answer.status_code == 200, answer.text
    with session_scope(db_factory) as work:
        episode = work.get(Episode, locked.id)
        assert episode is not None
        paywall.grant_unlock(db=work, viewer_id=ad_id, episode=episode, method=UnlockMethod.ad)
    assert pay(vip, start_purchase(vip, vip_plan="weekly")["checkout_url"]).status_code == 303
    for client in (coins, ad, vip):
        send(client, event(locked.id, "unlock"), event(locked.id, "start", session_id="s1"))
    send(leaver, event(free.id, "swipe_away", 1_000, session_id="s9"))

    with TestClient(app) as studio:
        report = studio.get(f"/api/studio/series/{series.id}/analytics", headers=owner).json()

    assert report["paywall"] == {
        "reached": 4,
        "unlocked": 3,
        "by_method": {"coins": 1, "vip": 1, "ad": 1},
        "conversion_rate": 0.75,
    }
    by_number = {e["number"]: e for e in report["episodes"]}
    assert by_number[2]["paywall_reached"] == 4 and by_number[2]["unlocked"] == 3
    assert by_number[1]["continuation_rate"] == 0.75  # 3 of the 4 who finished went on
    assert report["binge"]["histogram"] == {"1": 2, "2": 3}
    revenue = {r["source"]: r for r in report["revenue"]}
    # 60 paid coins at the default 60 % share; the ad and VIP unlocks pay the creator nothing.
    assert revenue["unlocks"]["amount"] == 36
    # VIP income reaches creators only when its month is settled (tests/payouts/test_vip_share.py).
    assert (revenue["vip_share"]["currency"], revenue["vip_share"]["amount"]) == ("USD", 0)
    assert revenue["commerce_commission"] == {
        "source": "commerce_commission",
        "currency": "USD",
        "amount": 0,
        "note": revenue["commerce_commission"]["note"],
    }

    # A refund takes the creator's share back, and the dashboard says so.
    with session_scope(db_factory) as work:
        paywall.refund_unlock(db=work, viewer_id=coins_id, episode_id=locked.id, reason="test")
    with TestClient(app) as studio:
        report = studio.get(f"/api/studio/series/{series.id}/analytics", headers=owner).json()
    assert {r["source"]: r["amount"] for r in report["revenue"]}["unlocks"] == 0
    assert report["paywall"]["by_method"] == {"coins": 0, "vip": 1, "ad": 1}


def test_the_date_range_keeps_only_views_started_in_it(
    app: FastAPI, client: TestClient, db: Session, db_factory: sessionmaker[Session],
    settings: Settings,
) -> None:  # fmt: skip
    series = make_series(db, episodes=1)
    db.commit()
    episode = series.episodes[0].id
    today = datetime.now(UTC)
    three_days_ago = (today - timedelta(days=3)).isoformat()
    send(client, event(episode, "start", session_id="old", occurred_at=three_days_ago))
    send(
        client,
        event(episode, "start", session_id="new"),
        event(episode, "complete", session_id="new"),
    )
    owner = bearer(db_factory, settings, series.owner_id)
    url = f"/api/studio/series/{series.id}/analytics"

    everything = client.get(url, headers=owner).json()
    recent = client.get(url, params={"from": today.date().isoformat()}, headers=owner).json()
    older = client.get(
        url, params={"to": (today - timedelta(days=1)).date().isoformat()}, headers=owner
    ).json()
    backwards = client.get(url, params={"from": "2026-02-02", "to": "2026-02-01"}, headers=owner)

    assert (everything["views"], recent["views"], older["views"]) == (2, 1, 1)
    assert (recent["completion_rate"], older["completion_rate"]) == (1.0, 0.0)
    assert backwards.status_code == 422
    assert backwards.json()["error"] == "invalid_date_range"


def test_the_csv_has_one_row_per_episode(
    client: TestClient, db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    series = make_series(db, episodes=2)
    db.commit()
    one = series.episodes[0].id
    send(client, event(one, "start"), event(one, "swipe_away", 12_000))
    owner = bearer(db_factory, settings, series.owner_id)

    answer = client.get(f"/api/studio/series/{series.id}/analytics.csv", headers=owner)

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["episode"] for r in rows] == ["1", "2"]
    assert rows[0]["views"] == "1" and rows[0]["average_watch_s"] == "12.0"
    assert rows[0]["biggest_drop_off_s"] == "12"


def test_only_the_series_creator_or_an_admin_may_read_its_analytics(
    client: TestClient, db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    series = make_series(db, episodes=1)
    rival = make_creator(db, name="Rival Studio")
    someone = Account(display_name="Viewer", role=Role.viewer, is_guest=False)
    db.add(someone)
    db.commit()
    admin_id = accounts.make_admin(db=db, email="ops@example.com", password="operator pass 123").id
    db.commit()
    api = f"/api/studio/series/{series.id}/analytics"

    def status(account_id: int | None, url: str) -> int:
        headers = bearer(db_factory, settings, account_id) if account_id else {}
        return client.get(url, headers=headers).status_code

    for url in (api, api + ".csv", f"/studio/series/{series.id}/analytics"):
        assert status(None, url) == 401
        assert status(someone.id, url) == 403
        assert status(rival.id, url) == 403
        assert status(admin_id, url) == 200
        assert status(series.owner_id, url) == 200
    assert status(series.owner_id, "/api/studio/series/999999/analytics") == 404
