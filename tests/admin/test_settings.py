"""The operator's settings: revenue share and payout minimum in the database, audited."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.models import Role
from microdrama.admin import service as platform
from microdrama.config import Settings
from tests.support.accounts import signed_in


def test_revenue_share_starts_at_the_configured_default_and_changes_are_audited(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    admin, admin_id = signed_in(db_factory, settings, role=Role.admin, name="Operator")
    first = client.get("/api/admin/settings", headers=admin).json()
    assert first["values"]["creator_revenue_share_percent"] == 60
    assert first["defaults"]["creator_revenue_share_percent"] == 60
    assert first["changes"] == []

    answer = client.put(
        "/api/admin/settings", json={"creator_revenue_share_percent": 70}, headers=admin
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["values"]["creator_revenue_share_percent"] == 70
    client.put("/api/admin/settings", json={"creator_revenue_share_percent": 55}, headers=admin)
    client.put("/api/admin/settings", json={"creator_revenue_share_percent": 55}, headers=admin)

    changes = client.get("/api/admin/settings", headers=admin).json()["changes"]
    assert [(c["old_value"], c["new_value"]) for c in changes] == [(70, 55), (60, 70)]
    assert {c["changed_by_id"] for c in changes} == {admin_id}
    assert all(c["changed_by"] == "Operator" for c in changes)
    with db_factory() as db:
        assert platform.creator_revenue_share_percent(db, settings=settings) == 55


def test_settings_refuse_out_of_range_values_and_unknown_keys(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    admin, _ = signed_in(db_factory, settings, role=Role.admin, name="Operator")
    for body in (
        {"creator_revenue_share_percent": 101},
        {"creator_revenue_share_percent": -1},
        {"payout_minimum_cents": "lots"},
        {"secret_key": "x"},
        {},
    ):
        answer = client.put("/api/admin/settings", json=body, headers=admin)
        assert (answer.status_code, answer.json()["error"]) == (422, "invalid_request"), body
    assert client.get("/api/admin/settings", headers=admin).json()["changes"] == []


def test_only_admins_see_or_change_settings_and_the_catalog(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    for role in (Role.viewer, Role.creator, Role.brand):
        headers, _ = signed_in(db_factory, settings, role=role, name=role.value)
        for method, url, body in (
            ("GET", "/api/admin/settings", None),
            ("PUT", "/api/admin/settings", {"creator_revenue_share_percent": 99}),
            ("PUT", "/api/admin/coin-packs/coins_500", {"price_cents": 1, "coins": 1}),
            ("GET", "/api/admin/payouts", None),
        ):
            answer = client.request(method, url, json=body, headers=headers)
            assert (answer.status_code, answer.json()["error"]) == (403, "forbidden"), url
        page = client.get("/admin", headers=headers)
        assert page.status_code == 403
    assert client.get("/api/admin/settings").status_code == 401
    guest_page = client.get("/admin", follow_redirects=False)
    assert guest_page.status_code == 303
    assert guest_page.headers["location"] == "/signin?next=/admin"
    with db_factory() as db:
        assert platform.creator_revenue_share_percent(db, settings=settings) == 60


def test_admin_page_lists_packs_plans_and_the_share(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    admin, _ = signed_in(db_factory, settings, role=Role.admin, name="Operator")
    client.put(
        "/api/admin/coin-packs/coins_500",
        json={"price_cents": 599, "coins": 500, "bonus_coins": 50, "active": False},
        headers=admin,
    )
    page = client.get("/admin", headers=admin)
    assert page.status_code == 200
    assert 'data-testid="admin-page"' in page.text
    store = client.get("/api/admin/store", headers=admin).json()
    pack = next(p for p in store["coin_packs"] if p["code"] == "coins_500")
    assert (pack["price_cents"], pack["bonus_coins"], pack["active"]) == (599, 50, False)
    on_sale = client.get("/api/store").json()["coin_packs"]
    assert "coins_500" not in {p["code"] for p in on_sale}
