"""A guest signs up and keeps everything: history, coins, unlocks (the account is converted)."""

from __future__ import annotations

from argon2 import extract_parameters
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from microdrama.accounts.deps import DEVICE_COOKIE, SESSION_COOKIE
from microdrama.accounts.models import Account, AuthSession, TrustedDevice
from tests.support.accounts import PASSWORD, sign_up
from tests.support.factories import make_series


def _episode_ids(client: TestClient, series_id: int) -> list[int]:
    return [e["id"] for e in client.get(f"/api/series/{series_id}").json()["episodes"]]


def test_signing_up_keeps_the_guests_continue_watching(client: TestClient, db: Session) -> None:
    series = make_series(db, episodes=3)
    db.commit()
    _, second, _ = _episode_ids(client, series.id)
    client.post(f"/api/episodes/{second}/progress", json={"position_ms": 12_400})
    guest_id = client.get("/api/me").json()["id"]

    me = sign_up(client, email="Ana@Example.COM")

    assert me["id"] == guest_id
    assert (me["email"], me["is_guest"], me["role"]) == ("ana@example.com", False, "viewer")
    items = client.get("/api/me/continue-watching").json()["items"]
    assert [(i["episode_id"], i["position_ms"]) for i in items] == [(second, 12_400)]


def test_signed_up_history_follows_the_account_to_another_device(
    client: TestClient, db: Session
) -> None:
    series = make_series(db, episodes=2)
    db.commit()
    first, _ = _episode_ids(client, series.id)
    client.post(f"/api/episodes/{first}/progress", json={"position_ms": 5_000})
    sign_up(client)

    with TestClient(client.app) as phone:
        phone.post("/api/auth/login", json={"email": "ana@example.com", "password": PASSWORD})
        items = phone.get("/api/me/continue-watching").json()["items"]

    assert [i["episode_id"] for i in items] == [first]


def test_signup_sets_an_httponly_lax_session_cookie_and_stores_only_its_hash(
    client: TestClient, db: Session
) -> None:
    response = client.post(
        "/api/auth/signup", json={"email": "ana@example.com", "password": PASSWORD}
    )

    assert response.status_code == 201
    header = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith(f"{SESSION_COOKIE}=")
    )
    assert "HttpOnly" in header
    assert "SameSite=lax" in header or "samesite=lax" in header.lower()
    assert "Secure" not in header  # only in production
    token = response.cookies[SESSION_COOKIE]
    stored = db.scalars(select(AuthSession.token_hash)).all()
    assert len(stored) == 1
    assert token not in stored[0] and len(stored[0]) == 64


def test_password_is_stored_as_argon2id_with_at_least_19_mib_and_two_passes(
    client: TestClient, db: Session
) -> None:
    sign_up(client)

    account = db.scalars(select(Account).where(Account.email == "ana@example.com")).one()
    assert account.password_hash is not None
    assert PASSWORD not in account.password_hash
    params = extract_parameters(account.password_hash)
    assert account.password_hash.startswith("$argon2id$")
    assert params.memory_cost >= 19 * 1024
    assert params.time_cost >= 2


def test_signup_trusts_the_device_and_unbinds_it_from_the_account(
    client: TestClient, db: Session
) -> None:
    client.get("/api/me")
    sign_up(client)

    account = db.scalars(select(Account).where(Account.email == "ana@example.com")).one()
    # Only a session signs in to a full account; logging out must really log out.
    assert account.device_token_hash is None
    assert db.scalars(select(TrustedDevice.account_id)).all() == [account.id]


def test_an_email_can_only_be_used_once_whatever_its_case(client: TestClient) -> None:
    sign_up(client, email="ana@example.com")

    with TestClient(client.app) as other:
        response = other.post(
            "/api/auth/signup", json={"email": " ANA@example.com ", "password": PASSWORD}
        )

    assert response.status_code == 409
    assert response.json()["error"] == "email_taken"


def test_a_signed_in_account_cannot_sign_up_again(client: TestClient) -> None:
    sign_up(client)

    response = client.post(
        "/api/auth/signup", json={"email": "bob@example.com", "password": PASSWORD}
    )

    assert response.status_code == 409
    assert response.json()["error"] == "already_signed_in"


def test_signup_explains_what_is_wrong_with_the_email_or_password(client: TestClient) -> None:
    cases = {
        ("ana@example.com", "short"): "Password must be at least 8 characters.",
        ("ana@example.com", "x" * 129): "Password must be at most 128 characters.",
        ("not-an-email", PASSWORD): "Email is not a valid email address.",
        ("ana@", PASSWORD): "Email is not a valid email address.",
    }
    for (email, password), message in cases.items():
        response = client.post("/api/auth/signup", json={"email": email, "password": password})
        assert response.status_code == 422, (email, password)
        assert response.json()["error"] == "invalid_request"
        assert message in response.json()["message"]
    assert client.get("/api/me").json()["is_guest"] is True


def test_a_device_cookie_alone_no_longer_opens_the_signed_up_account(
    client: TestClient,
) -> None:
    me = sign_up(client)
    device = client.cookies[DEVICE_COOKIE]

    with TestClient(client.app, cookies={DEVICE_COOKIE: device}) as thief:
        assert thief.get("/api/me").json()["id"] != me["id"]
