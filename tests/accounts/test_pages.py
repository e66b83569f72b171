"""The sign-in, sign-up and account pages, driven as a browser without JavaScript would."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from microdrama.accounts.deps import DEVICE_COOKIE, SESSION_COOKIE
from tests.support.accounts import PASSWORD, sign_up
from tests.support.factories import make_series


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', html)
    assert match, "the form carries no CSRF token"
    return match.group(1)


def test_a_guest_is_invited_to_sign_up_on_the_account_page(client: TestClient) -> None:
    response = client.get("/account")

    assert response.status_code == 200
    assert DEVICE_COOKIE in response.cookies
    assert "Sign up to keep your coins and history" in response.text
    assert 'href="/signup"' in response.text
    assert 'data-testid="logout-form"' not in response.text
    assert "app.css" in response.text  # the app's dark theme


def test_signing_up_through_the_form_keeps_history_and_shows_the_account(
    client: TestClient, db: Session
) -> None:
    series = make_series(db, episodes=2)
    db.commit()
    first = client.get(f"/api/series/{series.id}").json()["episodes"][0]["id"]
    client.post(f"/api/episodes/{first}/progress", json={"position_ms": 7_000})
    token = _csrf(client.get("/signup").text)

    response = client.post(
        "/signup",
        data={"email": "Ana@Example.com", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/account"
    assert SESSION_COOKIE in response.cookies
    page = client.get("/account").text
    assert 'data-testid="account-email">ana@example.com<' in page
    assert 'data-testid="account-role">viewer<' in page
    assert "Sign up to keep" not in page
    items = client.get("/api/me/continue-watching").json()["items"]
    assert [i["episode_id"] for i in items] == [first]


def test_the_sign_up_form_says_what_is_wrong_next_to_the_field(client: TestClient) -> None:
    token = _csrf(client.get("/signup").text)

    response = client.post(
        "/signup", data={"email": "ana@example", "password": "short", "csrf_token": token}
    )

    assert response.status_code == 422
    assert "Email is not a valid email address" in response.text
    assert "Password must be at least 8 characters" in response.text
    assert 'value="ana@example"' in response.text  # what was typed stays


def test_the_sign_up_form_sends_a_taken_email_to_sign_in(client: TestClient) -> None:
    with TestClient(client.app) as laptop:
        sign_up(laptop)
    token = _csrf(client.get("/signup").text)

    response = client.post(
        "/signup", data={"email": "ana@example.com", "password": PASSWORD, "csrf_token": token}
    )

    assert response.status_code == 409
    assert "An account with this email already exists" in response.text
    assert "Email An account" not in response.text


def test_signing_in_and_out_through_the_forms(client: TestClient) -> None:
    with TestClient(client.app) as laptop:
        sign_up(laptop)
    token = _csrf(client.get("/signin?next=/series/1").text)

    wrong = client.post(
        "/signin", data={"email": "ana@example.com", "password": "nope nope", "csrf_token": token}
    )
    assert wrong.status_code == 401
    assert "Wrong email or password." in wrong.text

    signed_in = client.post(
        "/signin",
        data={
            "email": "ana@example.com",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "/series/1",
        },
        follow_redirects=False,
    )
    assert (signed_in.status_code, signed_in.headers["location"]) == (303, "/series/1")
    assert client.get("/signin", follow_redirects=False).status_code == 303

    account = client.get("/account").text
    logged_out = client.post("/logout", data={"csrf_token": _csrf(account)}, follow_redirects=False)
    assert (logged_out.status_code, logged_out.headers["location"]) == (303, "/")
    assert client.get("/api/me").json()["is_guest"] is True


def test_sign_in_never_redirects_to_another_site(client: TestClient) -> None:
    with TestClient(client.app) as laptop:
        sign_up(laptop)
    token = _csrf(client.get("/signin").text)

    response = client.post(
        "/signin",
        data={
            "email": "ana@example.com",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/phish",
        },
        follow_redirects=False,
    )

    assert response.headers["location"] == "/account"


def test_the_settings_form_saves_and_an_empty_box_means_no_limit(client: TestClient) -> None:
    sign_up(client)
    token = _csrf(client.get("/account").text)

    saved = client.post(
        "/account/settings",
        data={
            "weekly_spend_limit_coins": "300",
            "watch_reminder_minutes": "",
            "auto_unlock": "on",
            "csrf_token": token,
        },
    )

    assert saved.status_code == 200
    assert "Settings saved." in saved.text
    me = client.get("/api/me").json()
    assert (me["weekly_spend_limit_coins"], me["watch_reminder_minutes"], me["auto_unlock"]) == (
        300,
        None,
        True,
    )
    assert 'value="300"' in saved.text


def test_the_settings_form_explains_an_out_of_range_value(client: TestClient) -> None:
    token = _csrf(client.get("/account").text)

    response = client.post(
        "/account/settings",
        data={"weekly_spend_limit_coins": "", "watch_reminder_minutes": "2", "csrf_token": token},
    )

    assert response.status_code == 422
    assert "Watch reminder must be at least 5 minutes." in response.text
    assert "Input should" not in response.text
