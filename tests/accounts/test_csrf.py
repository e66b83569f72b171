"""Cookie-authenticated writes from another site are refused; our own pages keep working."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.support.accounts import PASSWORD, sign_up
from tests.support.factories import make_series


def _first_episode(client: TestClient, db: Session) -> int:
    series = make_series(db, episodes=1)
    db.commit()
    return int(client.get(f"/api/series/{series.id}").json()["episodes"][0]["id"])


def test_a_cross_site_write_with_our_cookies_is_refused(client: TestClient, db: Session) -> None:
    episode = _first_episode(client, db)
    sign_up(client)

    response = client.patch(
        "/api/me/settings", json={"auto_unlock": True}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    progress = client.post(
        f"/api/episodes/{episode}/progress",
        json={"position_ms": 1000},
        headers={"Origin": "https://evil.example"},
    )

    assert response.status_code == 403
    assert response.json()["error"] == "csrf_failed"
    assert progress.status_code == 403
    assert progress.json()["error"] == "csrf_failed"
    assert client.get("/api/me").json()["auto_unlock"] is False


def test_a_null_origin_or_another_port_counts_as_another_origin(client: TestClient) -> None:
    sign_up(client)

    for origin in ("null", "http://testserver:8080", "http://testserver.evil.example"):
        response = client.post("/api/auth/logout", headers={"Origin": origin})
        assert response.status_code == 403, origin
    assert client.get("/api/me").json()["is_guest"] is False


def test_same_origin_fetches_and_beacons_are_accepted(client: TestClient, db: Session) -> None:
    episode = _first_episode(client, db)
    sign_up(client)
    same_origin = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}

    settings = client.patch("/api/me/settings", json={"auto_unlock": True}, headers=same_origin)
    beacon = client.post(
        f"/api/episodes/{episode}/progress",
        json={"position_ms": 2000},
        headers={"Sec-Fetch-Site": "same-origin"},
    )

    assert settings.status_code == 200
    assert settings.json()["auto_unlock"] is True
    assert beacon.status_code == 200


def test_the_configured_public_address_is_our_origin_too(client: TestClient) -> None:
    sign_up(client)
    public = client.app.state.settings.public_base_url  # type: ignore[attr-defined]

    response = client.patch(
        "/api/me/settings", json={"auto_unlock": True}, headers={"Origin": public}
    )

    assert response.status_code == 200


def test_bearer_requests_and_cookie_less_requests_are_not_subject_to_the_check(
    client: TestClient,
) -> None:
    with TestClient(client.app) as laptop:
        sign_up(laptop)
    with TestClient(client.app) as app_client:
        token = app_client.post(
            "/api/auth/token", json={"email": "ana@example.com", "password": PASSWORD}
        ).json()["access_token"]
        response = app_client.patch(
            "/api/me/settings",
            json={"watch_reminder_minutes": 30},
            headers={"Authorization": f"Bearer {token}", "Sec-Fetch-Site": "cross-site"},
        )
        assert response.status_code == 200
    with TestClient(client.app) as fresh:
        # No cookie of ours: nothing to forge (a webhook, a first sign-in from another app).
        response = fresh.post(
            "/api/auth/login",
            json={"email": "ana@example.com", "password": PASSWORD},
            headers={"Origin": "https://partner.example"},
        )
        assert response.status_code == 200


def test_form_posts_need_the_token_of_the_page_they_came_from(client: TestClient) -> None:
    client.get("/signup")

    forged = client.post(
        "/signup", data={"email": "ana@example.com", "password": PASSWORD, "csrf_token": "x" * 64}
    )

    assert forged.status_code == 403
    assert "This form has expired" in forged.text
    assert client.get("/api/me").json()["is_guest"] is True


def test_a_form_token_of_another_device_does_not_work(client: TestClient) -> None:
    with TestClient(client.app) as attacker:
        page = attacker.get("/signup").text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    client.get("/signup")

    response = client.post(
        "/signup", data={"email": "ana@example.com", "password": PASSWORD, "csrf_token": token}
    )

    assert response.status_code == 403
