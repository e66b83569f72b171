"""`GET /api/me` and `PATCH /api/me/settings`: the viewer's guards against overspending."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.support.accounts import sign_up


def test_a_new_guest_sees_who_they_are_with_no_limits(client: TestClient) -> None:
    me = client.get("/api/me").json()

    assert set(me) == {
        "id",
        "display_name",
        "email",
        "role",
        "is_guest",
        "weekly_spend_limit_coins",
        "watch_reminder_minutes",
        "auto_unlock",
    }
    assert (me["is_guest"], me["email"], me["role"]) == (True, None, "viewer")
    assert (me["weekly_spend_limit_coins"], me["watch_reminder_minutes"], me["auto_unlock"]) == (
        None,
        None,
        False,
    )


def test_settings_change_only_the_fields_sent_and_null_clears_a_limit(client: TestClient) -> None:
    sign_up(client)

    first = client.patch(
        "/api/me/settings",
        json={"weekly_spend_limit_coins": 500, "watch_reminder_minutes": 45, "auto_unlock": True},
    ).json()
    second = client.patch("/api/me/settings", json={"weekly_spend_limit_coins": None}).json()

    assert (first["weekly_spend_limit_coins"], first["watch_reminder_minutes"]) == (500, 45)
    assert first["auto_unlock"] is True
    assert second["weekly_spend_limit_coins"] is None
    assert (second["watch_reminder_minutes"], second["auto_unlock"]) == (45, True)
    assert client.get("/api/me").json() == second


def test_a_guest_can_set_a_spend_limit_too(client: TestClient) -> None:
    response = client.patch("/api/me/settings", json={"weekly_spend_limit_coins": 0})

    assert response.status_code == 200
    assert response.json()["weekly_spend_limit_coins"] == 0


def test_out_of_range_settings_are_refused_with_the_field_named(client: TestClient) -> None:
    cases = [
        ({"weekly_spend_limit_coins": -1}, "weekly_spend_limit_coins"),
        ({"weekly_spend_limit_coins": 1_000_001}, "weekly_spend_limit_coins"),
        ({"watch_reminder_minutes": 4}, "watch_reminder_minutes"),
        ({"watch_reminder_minutes": 601}, "watch_reminder_minutes"),
        ({"auto_unlock": None}, "auto_unlock"),
        ({"spend_limit": 5}, "spend_limit"),
    ]
    for body, field in cases:
        response = client.patch("/api/me/settings", json=body)
        assert response.status_code == 422, body
        assert response.json()["problems"][0]["field"] == field
    assert client.get("/api/me").json()["weekly_spend_limit_coins"] is None


def test_the_edges_of_each_range_are_accepted(client: TestClient) -> None:
    for body in (
        {"weekly_spend_limit_coins": 1_000_000},
        {"watch_reminder_minutes": 5},
        {"watch_reminder_minutes": 600},
    ):
        assert client.patch("/api/me/settings", json=body).status_code == 200
