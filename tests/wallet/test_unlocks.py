"""Paying for episodes as a viewer does: prices, coins, limits, refunds, and books that balance."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.models import Account, Role
from microdrama.config import Settings
from microdrama.db import run_money_transaction, utcnow
from microdrama.wallet import ledger, viewer_coins
from microdrama.wallet.models import BonusLot, LedgerAccount, LedgerAccountKind
from tests.support.accounts import signed_in
from tests.support.factories import make_series
from tests.support.wallet import top_up


def _viewer_id(client: TestClient) -> int:
    client.get("/api/wallet")
    return (
        int(client.get("/api/me").json()["id"])
        if client.get("/api/me").status_code == 200
        else _by_cookie(client)
    )


def _by_cookie(client: TestClient) -> int:
    from microdrama.accounts.service import get_by_device

    with client.app.state.sessionmaker() as db:  # type: ignore[attr-defined]
        account = get_by_device(db=db, device_token=client.cookies["md_device"])
        assert account is not None
        return account.id


def _unlock(client: TestClient, episode_id: int, key: str | None = None) -> object:
    return client.post(
        f"/api/episodes/{episode_id}/unlock",
        json={"method": "coins"},
        headers={"Idempotency-Key": key or uuid.uuid4().hex},
    )


def _episodes(client: TestClient, series_id: int) -> list[dict[str, object]]:
    return client.get(f"/api/series/{series_id}").json()["episodes"]  # type: ignore[no-any-return]


def test_locked_episode_shows_its_price_in_coins_and_money(client: TestClient, db: Session) -> None:
    series = make_series(db, episodes=6, free_episodes=2)
    series.episode_price_coins = 90
    db.commit()
    third = _episodes(client, series.id)[2]

    access = client.get(f"/api/episodes/{third['id']}/access").json()

    assert access["allowed"] is False
    assert access["reason"] == "locked"
    assert access["price_coins"] == 90
    assert access["price_cents"] == 90  # 90 coins at $4.99 per 500
    assert access["balance_coins"] == 0
    rest = access["rest_of_series"]
    assert rest["episodes"] == 4
    assert rest["sum_coins"] == 360
    assert 0 < rest["cap_price_coins"] <= rest["sum_coins"]
    assert access["ads_left_today"] == 5
    assert [p["code"] for p in access["vip_plans"]] == ["weekly", "monthly", "yearly"]


def test_unlock_spends_bonus_coins_first_and_pays_the_creator_share(
    client: TestClient, db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    series = make_series(db, episodes=4, free_episodes=1)
    series.episode_price_coins = 100
    db.commit()
    viewer_id = _by_cookie_after(client)
    top_up(db_factory, settings, viewer_id, coins=500, bonus_coins=30, amount_cents=499)
    second = _episodes(client, series.id)[1]

    answer = _unlock(client, int(second["id"]))

    assert answer.status_code == 200, answer.text
    assert answer.json()["balance_coins"] == 430
    wallet_now = client.get("/api/wallet").json()
    assert (wallet_now["bonus_coins"], wallet_now["paid_coins"]) == (0, 430)
    db.expire_all()
    earnings = db.scalar(
        select(LedgerAccount.balance).where(
            LedgerAccount.kind == LedgerAccountKind.creator_earnings,
            LedgerAccount.owner_id == series.owner_id,
        )
    )
    assert earnings == 42  # 60 % of the 70 paid coins; bonus coins carry no money
    assert client.get(f"/api/episodes/{second['id']}/access").json()["reason"] == "unlocked"
    assert ledger.verify(db=db) == []


def test_the_operators_revenue_share_applies_to_the_next_unlock(
    client: TestClient, db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    series = make_series(db, episodes=4, free_episodes=1)
    series.episode_price_coins = 100
    db.commit()
    viewer_id = _by_cookie_after(client)
    top_up(db_factory, settings, viewer_id, coins=500)
    episodes = _episodes(client, series.id)
    assert _unlock(client, int(episodes[1]["id"])).status_code == 200  # at the default 60 %
    admin, _ = signed_in(db_factory, settings, role=Role.admin, name="Operator")
    changed = client.put(
        "/api/admin/settings", json={"creator_revenue_share_percent": 75}, headers=admin
    )
    assert changed.status_code == 200, changed.text

    assert _unlock(client, int(episodes[2]["id"])).status_code == 200

    db.expire_all()
    earnings = db.scalar(
        select(LedgerAccount.balance).where(
            LedgerAccount.kind == LedgerAccountKind.creator_earnings,
            LedgerAccount.owner_id == series.owner_id,
        )
    )
    assert earnings == 60 + 75
    assert ledger.verify(db=db) == []


def _by_cookie_after(client: TestClient) -> int:
    client.get("/api/wallet")
    return _by_cookie(client)


def test_not_enough_coins_is_a_clear_402_and_nothing_moves(
    client: TestClient, db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    series = make_series(db, episodes=3, free_episodes=1)
    series.episode_price_coins = 80
    db.commit()
    top_up(db_factory, settings, _by_cookie_after(client), coins=50)

    answer = _unlock(client, int(_episodes(client, series.id)[1]["id"]))

    assert answer.status_code == 402
    body = answer.json()
    assert body["error"] == "insufficient_coins"
    assert (body["price_coins"], body["balance_coins"]) == (80, 50)
    assert client.get("/api/wallet").json()["total_coins"] == 50
    assert ledger.verify(db=db) == []


def test_a_new_device_refused_at_its_first_unlock_keeps_its_guest_and_the_answer(
    client: TestClient, db: Session
) -> None:
    """The unlock finds who is asking inside the money transaction, creating the guest of a
    device seen for the first time there; a refusal rolls that transaction back and is stored
    by a second one, which must create the same guest (same cookie) to keep the answer."""
    series = make_series(db, episodes=3, free_episodes=1)
    db.commit()
    episode_id = int(_episodes(client, series.id)[1]["id"])
    client.cookies.clear()

    first = _unlock(client, episode_id, key="first-visit")

    assert first.status_code == 402
    assert first.json()["error"] == "insufficient_coins"
    assert len(first.headers.get_list("set-cookie")) == 1  # one device, not one per attempt
    guest = _by_cookie(client)
    again = _unlock(client, episode_id, key="first-visit")
    assert again.status_code == 402
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _by_cookie(client) == guest
    assert client.get("/api/wallet").json()["total_coins"] == 0


def test_replayed_key_returns_the_same_answer_and_charges_once(
    client: TestClient, db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    series = make_series(db, episodes=3, free_episodes=1)
    db.commit()
    top_up(db_factory, settings, _by_cookie_after(client), coins=500)
    episode_id = int(_episodes(client, series.id)[1]["id"])

    first = _unlock(client, episode_id, key="k-1")
    again = _unlock(client, episode_id, key="k-1")

    assert first.json() == again.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert client.get("/api/wallet").json()["total_coins"] == 500 - series.episode_price_coins
    history = client.get("/api/wallet/history").json()["items"]
    assert [i["kind"] for i in history] == ["unlock", "purchase"]


def test_same_key_with_another_request_is_a_409(client: TestClient, db: Session) -> None:
    series = make_series(db, episodes=4, free_episodes=1)
    db.commit()
    second, third = (int(e["id"]) for e in _episodes(client, series.id)[1:3])
    _unlock(client, second, key="reused")

    answer = _unlock(client, third, key="reused")

    assert answer.status_code == 409
    assert answer.json()["error"] == "idempotency_conflict"


def test_a_reused_key_charges_nothing_for_the_other_episode(
    client: TestClient, db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    # The unlock claims its key with its answer, after charging: the second charge must be
    # rolled back with the transaction that found the key taken.
    series = make_series(db, episodes=4, free_episodes=1)
    db.commit()
    top_up(db_factory, settings, _by_cookie_after(client), coins=500)
    second, third = (int(e["id"]) for e in _episodes(client, series.id)[1:3])
    assert _unlock(client, second, key="reused").status_code == 200

    answer = _unlock(client, third, key="reused")

    assert answer.status_code == 409
    assert client.get("/api/wallet").json()["total_coins"] == 500 - series.episode_price_coins
    assert client.get(f"/api/episodes/{third}/access").json()["allowed"] is False
    assert [i["kind"] for i in client.get("/api/wallet/history").json()["items"]] == [
        "unlock", "purchase"
    ]  # fmt: skip


def test_unlock_without_an_idempotency_key_is_refused(client: TestClient, db: Session) -> None:
    series = make_series(db, episodes=2, free_episodes=1)
    db.commit()

    answer = client.post(f"/api/episodes/{_episodes(client, series.id)[1]['id']}/unlock", json={})

    assert answer.status_code == 400
    assert answer.json()["error"] == "idempotency_key_required"


def test_free_episodes_cost_nothing(client: TestClient, db: Session) -> None:
    series = make_series(db, episodes=2, free_episodes=1)
    db.commit()

    answer = _unlock(client, int(_episodes(client, series.id)[0]["id"]))

    assert answer.json()["reason"] == "free"
    assert answer.json()["charged_coins"] == 0


def test_weekly_spend_limit_stops_the_unlock_that_would_pass_it(
    client: TestClient, db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    series = make_series(db, episodes=5, free_episodes=1)
    series.episode_price_coins = 60
    db.commit()
    viewer_id = _by_cookie_after(client)
    top_up(db_factory, settings, viewer_id, coins=1000)
    with db_factory() as session:
        account = session.get(Account, viewer_id)
        assert account is not None
        account.weekly_spend_limit_coins = 100
        session.commit()
    second, third = (int(e["id"]) for e in _episodes(client, series.id)[1:3])

    assert _unlock(client, second).status_code == 200
    refused = _unlock(client, third)

    assert refused.status_code == 403
    assert refused.json()["error"] == "spend_limit_reached"
    assert refused.json()["spent_this_week_coins"] == 60
    assert client.get("/api/wallet").json()["total_coins"] == 940


def test_rest_of_series_costs_the_cap_price_once(
    client: TestClient, db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    series = make_series(db, episodes=6, free_episodes=2)
    series.episode_price_coins = 100
    series.series_cap_price_coins = 300
    db.commit()
    top_up(db_factory, settings, _by_cookie_after(client), coins=1000)

    answer = client.post(
        f"/api/series/{series.id}/unlock-rest", headers={"Idempotency-Key": "rest-1"}
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["unlocked_episodes"] == 4
    assert answer.json()["charged_coins"] == 300
    assert all(
        client.get(f"/api/episodes/{e['id']}/access").json()["allowed"]
        for e in _episodes(client, series.id)
    )
    assert ledger.verify(db=db) == []


def test_expired_bonus_coins_cannot_be_spent(
    db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    series = make_series(db, episodes=2, free_episodes=0)
    viewer = Account(display_name="v")
    db.add(viewer)
    db.commit()
    top_up(db_factory, settings, viewer.id, coins=0, bonus_coins=100, amount_cents=0)
    with db_factory() as session:
        for lot in session.scalars(select(BonusLot).where(BonusLot.owner_id == viewer.id)):
            lot.expires_at = utcnow() - timedelta(minutes=1)
        session.commit()

    with db_factory() as session:
        assert viewer_coins.balances(db=session, account_id=viewer.id).total == 0
    expired = run_money_transaction(db_factory, lambda s: viewer_coins.expire_bonus(db=s))

    assert expired == 100
    with db_factory() as session:
        assert ledger.verify(db=session) == []
    del series


def test_daily_checkin_pays_once_a_day(client: TestClient) -> None:
    first = client.post("/api/wallet/checkin").json()
    second = client.post("/api/wallet/checkin").json()

    assert first["already_checked_in"] is False
    assert first["coins"] > 0
    assert second["already_checked_in"] is True
    assert client.get("/api/wallet").json()["bonus_coins"] == first["coins"]


def test_ledger_verify_finds_a_tampered_balance(
    client: TestClient, db: Session, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    top_up(db_factory, settings, _by_cookie_after(client), coins=500)
    assert ledger.verify(db=db) == []
    paid = db.scalar(
        select(LedgerAccount).where(LedgerAccount.kind == LedgerAccountKind.viewer_paid)
    )
    assert paid is not None
    paid.balance += 1
    db.flush()

    problems = ledger.verify(db=db)

    assert any("stored balance 501 but entries sum to 500" in p for p in problems)
