"""Becoming a brand: a signed-in person applies, an operator approves or refuses."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.models import Role
from microdrama.config import Settings
from tests.support.accounts import signed_in

APPLICATION = {
    "company_name": "Verde Tea Co.",
    "website": "https://verde-tea.example",
    "contact_email": "Partners@Verde-Tea.example",
    "note": "Loose-leaf teas; our customers binge romance series.",
}


def apply(client: TestClient, headers: dict[str, str], **changes: Any) -> Any:
    return client.post("/api/brand-applications", json={**APPLICATION, **changes}, headers=headers)


def test_an_approved_applicant_becomes_a_brand_named_after_the_company(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    person, person_id = signed_in(db_factory, settings, role=Role.viewer, name="Ines")
    admin, _ = signed_in(db_factory, settings, role=Role.admin, name="Operator")

    filed = apply(client, person)
    assert filed.status_code == 201, filed.text
    assert filed.json()["status"] == "pending"
    assert filed.json()["contact_email"] == "partners@verde-tea.example"
    assert client.get("/api/brand/products", headers=person).status_code == 403

    listed = client.get("/api/admin/brand-applications", headers=admin).json()
    assert [(a["company_name"], a["applicant_name"], a["status"]) for a in listed] == [
        ("Verde Tea Co.", "Ines", "pending")
    ]
    approved = client.post(
        f"/api/admin/brand-applications/{filed.json()['id']}/approve", headers=admin
    )
    assert approved.status_code == 200, approved.text

    me = client.get("/api/me", headers=person).json()
    assert (me["role"], me["display_name"]) == ("brand", "Verde Tea Co.")
    assert client.get("/api/brand/products", headers=person).status_code == 200
    assert client.get("/api/brand-applications/mine", headers=person).json()["status"] == (
        "approved"
    )
    again = client.post(
        f"/api/admin/brand-applications/{filed.json()['id']}/refuse",
        json={"reason": "changed my mind"},
        headers=admin,
    )
    assert again.status_code == 409
    assert again.json()["error"] == "application_decided"
    assert apply(client, person).json()["error"] == "already_brand"
    assert person_id == me["id"]


def test_a_second_application_waits_for_the_first(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    person, _ = signed_in(db_factory, settings, role=Role.viewer, name="Ines")

    assert apply(client, person).status_code == 201
    second = apply(client, person, company_name="Verde Tea Two")

    assert second.status_code == 409
    assert second.json()["error"] == "application_pending"
    assert "waiting for an operator" in second.json()["message"]


def test_a_refused_applicant_reads_the_reason_and_may_apply_again(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    person, _ = signed_in(db_factory, settings, role=Role.creator, name="Studio Ines")
    admin, _ = signed_in(db_factory, settings, role=Role.admin, name="Operator")
    filed = apply(client, person).json()

    too_short = client.post(
        f"/api/admin/brand-applications/{filed['id']}/refuse", json={"reason": " x "}, headers=admin
    )
    assert too_short.status_code == 422
    refused = client.post(
        f"/api/admin/brand-applications/{filed['id']}/refuse",
        json={"reason": "We could not open your website; please check the address."},
        headers=admin,
    )
    assert refused.status_code == 200, refused.text

    mine = client.get("/api/brand-applications/mine", headers=person).json()
    assert mine["status"] == "refused"
    assert mine["refusal_reason"] == "We could not open your website; please check the address."
    assert client.get("/api/me", headers=person).json()["role"] == "creator"
    assert apply(client, person, website="verde-tea.example").status_code == 201


def test_only_operators_see_and_decide_applications(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    person, _ = signed_in(db_factory, settings, role=Role.viewer, name="Ines")
    brand, _ = signed_in(db_factory, settings, role=Role.brand, name="Luma")
    filed = apply(client, person).json()

    for headers in (person, brand):
        assert client.get("/api/admin/brand-applications", headers=headers).status_code == 403
        approve = client.post(
            f"/api/admin/brand-applications/{filed['id']}/approve", headers=headers
        )
        assert approve.status_code == 403
    assert client.get("/api/me", headers=person).json()["role"] == "viewer"


def test_guests_cannot_apply(client: TestClient) -> None:
    answer = client.post("/api/brand-applications", json=APPLICATION)

    assert answer.status_code == 401
    assert answer.json()["error"] == "sign_in_required"


def test_an_application_with_bad_fields_says_what_to_fix(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    person, _ = signed_in(db_factory, settings, role=Role.viewer, name="Ines")

    answer = apply(client, person, company_name=" ", website="not a site", contact_email="nobody")

    assert answer.status_code == 422
    text = answer.text
    assert "Enter the company's name" in text
    assert "Enter the company's website, like https://example.com" in text
    assert "Enter an email address" in text
    assert apply(client, person, note="a\u0000b").status_code == 422
    assert client.get("/api/brand-applications/mine", headers=person).json() is None


def test_deciding_an_unknown_application_is_not_found(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    admin, _ = signed_in(db_factory, settings, role=Role.admin, name="Operator")

    assert (
        client.post("/api/admin/brand-applications/999/approve", headers=admin).status_code == 404
    )
    huge = client.post(f"/api/admin/brand-applications/{2**63}/approve", headers=admin)
    assert huge.status_code == 422
