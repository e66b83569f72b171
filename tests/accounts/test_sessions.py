"""Signing in and out with a cookie (web) or a bearer token (the mobile app)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher, extract_parameters
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from microdrama.accounts import passwords
from microdrama.accounts.deps import SESSION_COOKIE
from microdrama.accounts.models import Account, AuthSession
from microdrama.accounts.passwords import MEMORY_COST_KIB, TIME_COST
from microdrama.config import Settings
from microdrama.db import utcnow
from tests.support.accounts import PASSWORD, log_in, sign_up
from tests.support.factories import make_series


def _signed_up_elsewhere(client: TestClient, email: str = "ana@example.com") -> None:
    with TestClient(client.app) as laptop:
        sign_up(laptop, email=email)


def test_login_signs_the_browser_in_and_logout_ends_the_session_on_the_server(
    client: TestClient,
) -> None:
    _signed_up_elsewhere(client)

    response = client.post(
        "/api/auth/login", json={"email": "ANA@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200
    assert response.json()["email"] == "ana@example.com"
    old_cookie = client.cookies[SESSION_COOKIE]
    assert client.get("/api/me").json()["is_guest"] is False

    assert client.post("/api/auth/logout").status_code == 204

    # A copy of the old cookie (stolen, or a tab that kept it) no longer opens the account.
    with TestClient(client.app, cookies={SESSION_COOKIE: old_cookie}) as replay:
        assert replay.get("/api/me").json()["is_guest"] is True
    assert client.get("/api/me").json()["is_guest"] is True


def test_logout_deletes_exactly_the_session_row(client: TestClient, db: Session) -> None:
    sign_up(client)
    assert len(db.scalars(select(AuthSession)).all()) == 1

    client.post("/api/auth/logout")

    db.expire_all()
    assert db.scalars(select(AuthSession)).all() == []


def test_wrong_password_and_unknown_email_get_the_same_answer(client: TestClient) -> None:
    _signed_up_elsewhere(client)

    wrong = client.post(
        "/api/auth/login", json={"email": "ana@example.com", "password": "nope nope"}
    )
    unknown = client.post(
        "/api/auth/login", json={"email": "who@example.com", "password": "nope nope"}
    )

    assert wrong.status_code == unknown.status_code == 401
    assert (
        wrong.json()
        == unknown.json()
        == {
            "error": "invalid_credentials",
            "message": "Wrong email or password.",
        }
    )


def test_an_api_client_signs_in_with_a_bearer_token_and_logout_revokes_it(
    client: TestClient,
) -> None:
    _signed_up_elsewhere(client)
    with TestClient(client.app) as app_client:
        issued = app_client.post(
            "/api/auth/token", json={"email": "ana@example.com", "password": PASSWORD}
        )
        assert issued.status_code == 200
        body = issued.json()
        assert body["token_type"] == "bearer"
        assert body["expires_at"]
        auth = {"Authorization": f"Bearer {body['access_token']}"}

        me = app_client.get("/api/me", headers=auth)
        assert (me.status_code, me.json()["email"]) == (200, "ana@example.com")
        assert SESSION_COOKIE not in issued.cookies

        assert app_client.post("/api/auth/logout", headers=auth).status_code == 204

        refused = app_client.get("/api/me", headers=auth)
        assert refused.status_code == 401
        assert refused.json()["error"] == "sign_in_required"


def test_a_made_up_bearer_token_is_refused_rather_than_treated_as_a_guest(
    client: TestClient,
) -> None:
    response = client.get("/api/me", headers={"Authorization": "Bearer not-a-real-token"})

    assert response.status_code == 401
    assert response.json()["error"] == "sign_in_required"


def test_an_expired_session_no_longer_signs_in(client: TestClient, db: Session) -> None:
    sign_up(client)
    db.execute(update(AuthSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.commit()

    assert client.get("/api/me").json()["is_guest"] is True


def test_signing_in_on_a_device_with_its_own_guest_switches_to_the_account_and_back(
    client: TestClient, db: Session
) -> None:
    series = make_series(db, episodes=2)
    db.commit()
    first, second = [e["id"] for e in client.get(f"/api/series/{series.id}").json()["episodes"]]
    with TestClient(client.app) as laptop:
        laptop.post(f"/api/episodes/{first}/progress", json={"position_ms": 4_000})
        sign_up(laptop)
    # This device's own guest watched episode 2.
    client.post(f"/api/episodes/{second}/progress", json={"position_ms": 9_000})
    guest_id = client.get("/api/me").json()["id"]

    assert log_in(client) == 200
    signed_in = client.get("/api/me/continue-watching").json()["items"]
    assert [i["episode_id"] for i in signed_in] == [first]

    client.post("/api/auth/logout")
    assert client.get("/api/me").json()["id"] == guest_id
    as_guest = client.get("/api/me/continue-watching").json()["items"]
    assert [i["episode_id"] for i in as_guest] == [second]


def test_login_upgrades_a_hash_made_with_weaker_parameters(client: TestClient, db: Session) -> None:
    sign_up(client)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    db.execute(update(Account).where(Account.email == "ana@example.com").values(password_hash=weak))
    db.commit()
    client.post("/api/auth/logout")

    assert log_in(client) == 200

    db.expire_all()
    stored = db.scalars(
        select(Account.password_hash).where(Account.email == "ana@example.com")
    ).one()
    assert stored is not None and stored != weak
    params = extract_parameters(stored)
    assert (params.memory_cost, params.time_cost) == (MEMORY_COST_KIB, TIME_COST)


def test_an_unknown_email_costs_a_password_verification_too(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No enumeration by timing: refusing an unknown email takes an argon2 verify as well."""
    real = passwords._hasher
    verified: list[str] = []

    class Spy:
        def verify(self, stored: str, password: str) -> bool:
            verified.append(stored)
            return real.verify(stored, password)

        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

    monkeypatch.setattr(passwords, "_hasher", Spy())

    response = client.post(
        "/api/auth/login", json={"email": "who@example.com", "password": "nope nope"}
    )

    assert response.status_code == 401, response.text
    assert len(verified) == 1
    assert verified[0].startswith("$argon2id$")


def test_session_cookies_are_secure_in_production(client: TestClient, settings: Settings) -> None:
    settings.environment = "production"

    response = client.post(
        "/api/auth/signup", json={"email": "ana@example.com", "password": PASSWORD}
    )

    headers = response.headers.get_list("set-cookie")
    session = next(h for h in headers if h.startswith(f"{SESSION_COOKIE}="))
    assert "Secure" in session and "HttpOnly" in session
