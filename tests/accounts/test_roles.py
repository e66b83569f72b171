"""Roles: viewer, creator, brand, admin; `require_role` guards and the create-admin command."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from microdrama.accounts.deps import CurrentAccount, CurrentAdmin, CurrentCreator
from microdrama.accounts.models import Account, Role
from microdrama.cli import app as cli
from tests.support.accounts import PASSWORD, log_in, sign_up


def _guarded_routes(app: FastAPI) -> None:
    @app.get("/test/account")
    def _account(account: CurrentAccount) -> dict[str, int]:
        return {"id": account.id}

    @app.get("/test/creator")
    def _creator(account: CurrentCreator) -> dict[str, int]:
        return {"id": account.id}

    @app.get("/test/admin")
    def _admin(account: CurrentAdmin) -> dict[str, int]:
        return {"id": account.id}


def _set_role(db: Session, role: Role) -> None:
    db.execute(update(Account).where(Account.email == "ana@example.com").values(role=role))
    db.commit()


def test_guests_must_sign_in_and_each_role_opens_its_own_doors(
    app: FastAPI, client: TestClient, db: Session
) -> None:
    _guarded_routes(app)
    guest = client.get("/test/account")
    assert (guest.status_code, guest.json()["error"]) == (401, "sign_in_required")

    sign_up(client)
    assert client.get("/test/account").status_code == 200
    refused = client.get("/test/creator")
    assert (refused.status_code, refused.json()["error"]) == (403, "forbidden")

    _set_role(db, Role.creator)
    assert client.get("/test/creator").status_code == 200
    assert client.get("/test/admin").status_code == 403

    _set_role(db, Role.admin)  # admins pass every role check
    assert client.get("/test/creator").status_code == 200
    assert client.get("/test/admin").status_code == 200


def test_create_admin_makes_a_new_operator_who_can_sign_in(
    cli_env: None, client: TestClient, db: Session
) -> None:
    result = CliRunner().invoke(cli, ["create-admin", "Ops@Example.com", "--password", PASSWORD])

    assert result.exit_code == 0, result.output
    assert "ops@example.com" in result.output
    assert log_in(client, email="ops@example.com") == 200
    assert client.get("/api/me").json()["role"] == "admin"


def test_create_admin_promotes_an_existing_account_without_touching_its_password(
    cli_env: None, client: TestClient, db: Session
) -> None:
    sign_up(client)
    before = db.scalars(select(Account.password_hash)).one()

    result = CliRunner().invoke(cli, ["create-admin", "ana@example.com"])

    assert result.exit_code == 0, result.output
    db.expire_all()
    account = db.scalars(select(Account).where(Account.email == "ana@example.com")).one()
    assert (account.role, account.password_hash) == (Role.admin, before)


def test_create_admin_refuses_a_short_password(cli_env: None, db: Session) -> None:
    result = CliRunner().invoke(cli, ["create-admin", "ops@example.com", "--password", "short"])

    assert result.exit_code == 1
    assert "at least 8 characters" in result.output
    assert db.scalars(select(Account)).all() == []
