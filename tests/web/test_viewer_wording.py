"""What viewers read on the pages: counts in the singular, one price format, today's check-in."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from microdrama import wording
from tests.support.accounts import log_in, sign_up
from tests.support.factories import make_series


def _checkin_button(html: str) -> str:
    match = re.search(r'<button[^>]*data-testid="checkin"[^>]*>[^<]*</button>', html)
    assert match, "no check-in button on the wallet page"
    return match.group(0)


def test_after_signing_out_and_in_the_wallet_knows_today_is_checked_in(
    client: TestClient,
) -> None:
    sign_up(client)
    assert "disabled" not in _checkin_button(client.get("/wallet").text)
    assert client.post("/api/wallet/checkin").json()["already_checked_in"] is False

    assert client.post("/api/auth/logout").status_code == 204
    assert log_in(client) == 200
    html = client.get("/wallet").text

    button = _checkin_button(html)
    assert "disabled" in button and ">Checked in<" in button
    assert "Checked in today (+10 coins) · 1-day streak" in html
    today = client.get("/api/wallet").json()["checked_in_today"]
    assert today == {"coins": 10, "streak": 1}


def test_a_new_account_may_check_in(client: TestClient) -> None:
    sign_up(client)

    assert "disabled" not in _checkin_button(client.get("/wallet").text)
    assert client.get("/api/wallet").json()["checked_in_today"] is None


def test_a_series_with_one_episode_speaks_in_the_singular(client: TestClient, db: Session) -> None:
    series = make_series(db, title="Solo", episodes=1, free_episodes=1)
    db.commit()

    series_page = client.get(f"/series/{series.id}").text
    feed = client.get("/").text

    assert "1 episode ·" in series_page and "1 episodes" not in series_page
    assert "First episode free" in series_page and "First 1 episodes" not in series_page
    assert "1 episode ·" in feed and "1 episodes" not in feed


def test_the_series_page_and_the_paywall_price_an_episode_alike(
    client: TestClient, db: Session
) -> None:
    series = make_series(db, episodes=4, free_episodes=1)
    series.episode_price_coins = 256
    db.commit()
    locked = client.get(f"/api/series/{series.id}").json()["episodes"][1]["id"]

    access = client.get(f"/api/episodes/{locked}/access").json()
    html = client.get(f"/series/{series.id}").text

    # 256 coins at the coin's value (500 coins = $4.99) is $2.55: one conversion, one format.
    assert access["price_cents"] == 255
    assert wording.coin_price(access["price_coins"], access["price_cents"]) == "256 coins ($2.55)"
    assert "First episode free · then 256 coins ($2.55) an episode" in html


def test_words_for_counts_and_money() -> None:
    assert wording.plural(1, "episode") == "1 episode"
    assert wording.plural(0, "episode") == "0 episodes"
    assert wording.plural(2_200, "coin") == "2,200 coins"
    assert wording.plural(3, "series", "series") == "3 series"
    assert wording.money(123_456) == "$1,234.56"
    assert wording.money(-60) == "\u2212$0.60"
    assert wording.coin_price(1, 1) == "1 coin ($0.01)"
