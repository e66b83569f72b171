"""Failed sign-ins are limited per (email, address), per address and per account, and an
attacker cannot use the account limit to lock the owner out of a device they used before."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from microdrama.config import Settings
from tests.support.accounts import PASSWORD, browser_at, log_in, sign_up

WRONG = "wrong password"


def _small_limits(settings: Settings) -> None:
    settings.login_max_failures_per_pair = 3
    settings.login_max_failures_per_ip = 6
    settings.login_max_failures_per_account = 5


def _fail(client: TestClient, email: str = "ana@example.com") -> int:
    return client.post("/api/auth/login", json={"email": email, "password": WRONG}).status_code


def test_the_same_address_guessing_one_accounts_password_is_stopped_with_retry_after(
    app: FastAPI, settings: Settings
) -> None:
    _small_limits(settings)
    sign_up(browser_at(app, "10.0.0.1"))
    attacker = browser_at(app, "203.0.113.9")

    assert [_fail(attacker) for _ in range(3)] == [401, 401, 401]
    refused = attacker.post(
        "/api/auth/login", json={"email": "ana@example.com", "password": PASSWORD}
    )

    # Even the right password is refused while the limit holds: no oracle for the attacker.
    assert refused.status_code == 429
    assert refused.json()["error"] == "too_many_attempts"
    retry_after = int(refused.headers["Retry-After"])
    assert 0 < retry_after <= settings.login_window_minutes * 60
    assert refused.json()["retry_after_seconds"] == retry_after
    # The token endpoint shares the limit.
    token = attacker.post(
        "/api/auth/token", json={"email": "ana@example.com", "password": PASSWORD}
    )
    assert token.status_code == 429


def test_one_address_spraying_many_accounts_is_stopped_by_the_address_limit(
    app: FastAPI, settings: Settings
) -> None:
    _small_limits(settings)
    attacker = browser_at(app, "203.0.113.9")

    codes = [_fail(attacker, f"user{n}@example.com") for n in range(7)]

    assert codes == [401] * 6 + [429]
    # Another address is not affected.
    assert _fail(browser_at(app, "198.51.100.7"), "user0@example.com") == 401


def test_many_addresses_guessing_one_account_are_stopped_by_the_account_limit(
    app: FastAPI, settings: Settings
) -> None:
    _small_limits(settings)
    sign_up(browser_at(app, "10.0.0.1"))

    codes = [_fail(browser_at(app, f"203.0.113.{n}")) for n in range(6)]

    assert codes == [401] * 5 + [429]
    # A new device of the owner is held back too until the window passes ...
    assert log_in(browser_at(app, "10.0.0.2")) == 429


def test_the_owners_trusted_device_still_signs_in_while_attackers_hold_the_account_limit(
    app: FastAPI, settings: Settings
) -> None:
    _small_limits(settings)
    owner_phone = browser_at(app, "10.0.0.1")
    sign_up(owner_phone)  # signing up (or in) makes the device trusted
    owner_phone.post("/api/auth/logout")

    for n in range(10):
        _fail(browser_at(app, f"203.0.113.{n}"))
    assert _fail(browser_at(app, "203.0.113.200")) == 429

    assert log_in(owner_phone) == 200
    assert owner_phone.get("/api/me").json()["email"] == "ana@example.com"


def test_a_trusted_device_is_still_held_to_the_per_address_limits(
    app: FastAPI, settings: Settings
) -> None:
    _small_limits(settings)
    owner_phone = browser_at(app, "10.0.0.1")
    sign_up(owner_phone)
    owner_phone.post("/api/auth/logout")

    # A stolen device cookie does not buy unlimited guesses.
    assert [_fail(owner_phone) for _ in range(4)] == [401, 401, 401, 429]


def test_a_successful_sign_in_starts_the_pairs_count_afresh(
    app: FastAPI, settings: Settings
) -> None:
    _small_limits(settings)
    owner = browser_at(app, "10.0.0.1")
    sign_up(owner)
    owner.post("/api/auth/logout")

    assert [_fail(owner), _fail(owner), log_in(owner)] == [401, 401, 200]
    owner.post("/api/auth/logout")
    assert [_fail(owner), _fail(owner), log_in(owner)] == [401, 401, 200]


def test_the_sign_in_form_shows_the_limit_as_a_page(app: FastAPI, settings: Settings) -> None:
    _small_limits(settings)
    sign_up(browser_at(app, "10.0.0.1"))
    attacker = browser_at(app, "203.0.113.9")
    for _ in range(3):
        _fail(attacker)
    form = attacker.get("/signin").text
    token = form.split('name="csrf_token" value="')[1].split('"')[0]

    page = attacker.post(
        "/signin", data={"email": "ana@example.com", "password": PASSWORD, "csrf_token": token}
    )

    assert page.status_code == 429
    assert "Retry-After" in page.headers
    assert "Too many failed sign-ins" in page.text
