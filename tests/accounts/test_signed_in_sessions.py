"""Where a person is signed in: the list of sessions, signing the others out, a new password."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from microdrama.accounts.models import AuthSession
from microdrama.accounts.user_agents import describe_user_agent
from microdrama.db import utcnow
from tests.support.accounts import PASSWORD, log_in, sign_up

MAC_CHROME = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
NEW_PASSWORD = "a brand new secret"


def _browser(app: FastAPI, user_agent: str, ip: str) -> TestClient:
    """Another browser (its own cookie jar) with its own User-Agent, at its own address."""
    return TestClient(app, client=(ip, 40_000), headers={"User-Agent": user_agent})


def _token(app: FastAPI, password: str = PASSWORD) -> str:
    with TestClient(app, headers={"User-Agent": "microdrama-android/1.4 okhttp/4.12"}) as api:
        answer = api.post(
            "/api/auth/token", json={"email": "ana@example.com", "password": password}
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])


def _signed_in(client: TestClient) -> bool:
    return client.get("/api/me").json()["is_guest"] is False


def _bearer_works(app: FastAPI, token: str) -> bool:
    with TestClient(app) as api:
        return api.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_two_sign_ins_are_two_sessions_and_this_one_is_marked(app: FastAPI) -> None:
    laptop = _browser(app, MAC_CHROME, "203.0.113.7")
    phone = _browser(app, IPHONE_SAFARI, "198.51.100.23")
    sign_up(laptop)
    assert log_in(phone) == 200

    listed = phone.get("/api/me/sessions").json()

    assert len(listed) == 2
    this, other = listed  # this session first
    assert (this["current"], this["device"], this["device_kind"]) == (
        True,
        "Safari on iPhone",
        "phone",
    )
    assert this["ip"] == "198.51.100.23" and this["kind"] == "cookie"
    assert (other["current"], other["device"], other["device_kind"]) == (
        False,
        "Chrome on Mac",
        "computer",
    )
    assert other["ip"] == "203.0.113.7"
    # Seen from the laptop, the laptop's session is the current one.
    assert [s["current"] for s in laptop.get("/api/me/sessions").json()] == [True, False]
    assert laptop.get("/api/me/sessions").json()[0]["id"] == other["id"]


def test_an_app_token_is_listed_as_a_session_too(app: FastAPI) -> None:
    laptop = _browser(app, MAC_CHROME, "203.0.113.7")
    sign_up(laptop)
    _token(app)

    kinds = sorted((s["kind"], s["device"]) for s in laptop.get("/api/me/sessions").json())

    assert kinds == [("bearer", "Android app"), ("cookie", "Chrome on Mac")]


def test_guests_have_no_sessions_to_list(client: TestClient) -> None:
    response = client.get("/api/me/sessions")

    assert response.status_code == 401
    assert response.json()["error"] == "sign_in_required"


def test_signing_out_the_other_sessions_stops_their_cookies_and_tokens(app: FastAPI) -> None:
    laptop = _browser(app, MAC_CHROME, "203.0.113.7")
    phone = _browser(app, IPHONE_SAFARI, "198.51.100.23")
    sign_up(laptop)
    log_in(phone)
    token = _token(app)

    answer = phone.post("/api/me/sessions/end-others")

    assert answer.status_code == 200 and answer.json() == {"ended": 2}
    assert not _signed_in(laptop)
    assert not _bearer_works(app, token)
    assert _signed_in(phone)
    assert [s["current"] for s in phone.get("/api/me/sessions").json()] == [True]


def test_one_session_is_signed_out_by_its_id_and_only_by_its_owner(app: FastAPI) -> None:
    laptop = _browser(app, MAC_CHROME, "203.0.113.7")
    phone = _browser(app, IPHONE_SAFARI, "198.51.100.23")
    stranger = _browser(app, MAC_CHROME, "192.0.2.1")
    sign_up(laptop)
    log_in(phone)
    sign_up(stranger, email="mallory@example.com")
    laptop_id = laptop.get("/api/me/sessions").json()[0]["id"]

    refused = stranger.delete(f"/api/me/sessions/{laptop_id}")
    assert refused.status_code == 404 and refused.json()["error"] == "not_found"
    assert _signed_in(laptop)

    assert phone.delete(f"/api/me/sessions/{laptop_id}").status_code == 204
    assert not _signed_in(laptop)
    assert _signed_in(phone)
    assert phone.delete(f"/api/me/sessions/{laptop_id}").status_code == 404
    assert phone.delete(f"/api/me/sessions/{'x' * 65}").status_code == 422


def test_a_cross_site_request_cannot_sign_the_others_out(app: FastAPI) -> None:
    laptop = _browser(app, MAC_CHROME, "203.0.113.7")
    phone = _browser(app, IPHONE_SAFARI, "198.51.100.23")
    sign_up(laptop)
    log_in(phone)

    forged = phone.post("/api/me/sessions/end-others", headers={"Origin": "https://evil.example"})

    assert forged.status_code == 403 and forged.json()["error"] == "csrf_failed"
    assert _signed_in(laptop)


def test_changing_the_password_needs_the_current_one(app: FastAPI) -> None:
    laptop = _browser(app, MAC_CHROME, "203.0.113.7")
    phone = _browser(app, IPHONE_SAFARI, "198.51.100.23")
    sign_up(laptop)
    log_in(phone)

    wrong = phone.post(
        "/api/me/password", json={"current_password": "not it at all", "new_password": NEW_PASSWORD}
    )
    too_short = phone.post(
        "/api/me/password", json={"current_password": PASSWORD, "new_password": "short"}
    )

    assert wrong.status_code == 403
    assert wrong.json()["error"] == "wrong_current_password"
    assert wrong.json()["problems"][0]["field"] == "current_password"
    assert too_short.status_code == 422
    assert too_short.json()["problems"][0]["field"] == "new_password"
    # Nothing changed: the old password still works, nobody was signed out.
    assert _signed_in(laptop) and _signed_in(phone)
    with TestClient(app) as other:
        assert log_in(other) == 200


def test_a_new_password_signs_out_every_other_session_and_keeps_this_one(app: FastAPI) -> None:
    laptop = _browser(app, MAC_CHROME, "203.0.113.7")
    phone = _browser(app, IPHONE_SAFARI, "198.51.100.23")
    sign_up(laptop)
    log_in(phone)
    token = _token(app)

    answer = phone.post(
        "/api/me/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"signed_out_sessions": 2}
    assert _signed_in(phone)
    assert not _signed_in(laptop)
    assert not _bearer_works(app, token)
    with TestClient(app) as other:
        assert log_in(other, password=PASSWORD) == 401
        assert log_in(other, password=NEW_PASSWORD) == 200


def test_guessing_the_current_password_is_limited_like_signing_in(app: FastAPI) -> None:
    phone = _browser(app, IPHONE_SAFARI, "198.51.100.23")
    sign_up(phone)
    body = {"current_password": "guess guess", "new_password": NEW_PASSWORD}

    answers = [phone.post("/api/me/password", json=body).status_code for _ in range(6)]

    assert answers == [403] * 5 + [429]
    right = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert phone.post("/api/me/password", json=right).status_code == 429


def test_last_seen_moves_forward_while_a_session_is_used(app: FastAPI, db: Session) -> None:
    phone = _browser(app, IPHONE_SAFARI, "198.51.100.23")
    sign_up(phone)
    an_hour_ago = utcnow() - timedelta(hours=1)
    db.execute(update(AuthSession).values(last_seen_at=an_hour_ago))
    db.commit()

    phone.get("/api/me")

    db.expire_all()
    seen = db.scalars(select(AuthSession.last_seen_at)).one()
    assert seen > an_hour_ago + timedelta(minutes=30)


def test_a_viewer_back_after_a_break_is_served_by_the_busiest_routes(
    app: FastAPI, db: Session
) -> None:
    """The feed and the coin unlock find who is asking by the session's id alone, and move
    "last seen" forward themselves: after five minutes away that update once failed to
    compile, a 500 for every returning viewer."""
    phone = _browser(app, IPHONE_SAFARI, "198.51.100.24")
    sign_up(phone)
    token = _token(app)
    an_hour_ago = utcnow() - timedelta(hours=1)
    db.execute(update(AuthSession).values(last_seen_at=an_hour_ago))
    db.commit()

    assert phone.get("/api/feed").status_code == 200
    with TestClient(app) as api:
        bearer = {"Authorization": f"Bearer {token}", "Idempotency-Key": "back-after-a-break"}
        assert api.get("/api/feed", headers=bearer).status_code == 200
        unlock = api.post("/api/episodes/999999/unlock", json={}, headers=bearer)
        assert unlock.status_code == 404, unlock.text

    db.expire_all()
    seen = db.scalars(select(AuthSession.last_seen_at)).all()
    assert len(seen) == 2
    assert all(last > an_hour_ago + timedelta(minutes=30) for last in seen)


# The account page, as a browser without JavaScript uses it -------------------------------


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', html)
    assert match, "the form carries no CSRF token"
    return match.group(1)


def test_the_account_page_lists_the_sessions_and_signs_the_others_out(
    app: FastAPI, db: Session
) -> None:
    laptop = _browser(app, MAC_CHROME, "203.0.113.7")
    phone = _browser(app, IPHONE_SAFARI, "198.51.100.23")
    sign_up(laptop)
    log_in(phone)
    db.execute(
        update(AuthSession)
        .where(AuthSession.ip == "203.0.113.7")
        .values(last_seen_at=utcnow() - timedelta(hours=3))
    )
    db.commit()

    page = phone.get("/account").text

    assert page.count('data-testid="session"') == 2
    assert re.search(
        r"Safari on iPhone</span><span class=\"badge\" data-testid=\"this-device\"", page
    )
    assert "Chrome on Mac" in page and "Last seen 3 hours ago · 203.0.113.7" in page
    answer = phone.post(
        "/account/sessions/end-others", data={"csrf_token": _csrf(page)}, follow_redirects=True
    )
    assert "Signed out of 1 other session." in answer.text
    assert answer.text.count('data-testid="session"') == 1
    assert 'data-testid="only-here"' in answer.text
    assert not _signed_in(laptop)


def test_the_account_page_changes_the_password(app: FastAPI) -> None:
    laptop = _browser(app, MAC_CHROME, "203.0.113.7")
    phone = _browser(app, IPHONE_SAFARI, "198.51.100.23")
    sign_up(laptop)
    log_in(phone)
    token = _csrf(phone.get("/account").text)

    wrong = phone.post(
        "/account/password",
        data={"current_password": "nope nope", "new_password": NEW_PASSWORD, "csrf_token": token},
    )
    short = phone.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": "short", "csrf_token": token},
    )
    forged = phone.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "csrf_token": "0" * 64},
    )
    assert wrong.status_code == 403 and "That is not your current password." in wrong.text
    assert short.status_code == 422 and "at least 8 characters" in short.text
    assert forged.status_code == 403 and _signed_in(laptop)

    changed = phone.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": NEW_PASSWORD, "csrf_token": token},
        follow_redirects=True,
    )

    assert "Password changed. Your other sessions were signed out." in changed.text
    assert _signed_in(phone) and not _signed_in(laptop)
    assert log_in(laptop, password=NEW_PASSWORD) == 200


def test_user_agents_are_named_as_people_know_them() -> None:
    cases = {
        MAC_CHROME: "Chrome on Mac",
        IPHONE_SAFARI: "Safari on iPhone",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0": "Edge on Windows",
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0": (
            "Firefox on Linux"
        ),
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Mobile Safari/537.36": "Chrome on Android phone",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1": "Chrome on iPhone",
        "curl/8.5.0": "curl",
        "": "Unknown device",
        "\x00" * 10_000: "Unknown device",
    }
    for user_agent, label in cases.items():
        assert describe_user_agent(user_agent).label == label, user_agent


def test_a_new_password_with_control_characters_is_refused_like_at_sign_up(app: FastAPI) -> None:
    phone = _browser(app, IPHONE_SAFARI, "198.51.100.23")
    sign_up(phone)

    answer = phone.post(
        "/api/me/password", json={"current_password": PASSWORD, "new_password": "new\x00password"}
    )

    assert answer.status_code == 422
    assert answer.json()["problems"][0]["field"] == "new_password"
    with TestClient(app) as other:
        assert log_in(other, password=PASSWORD) == 200
