"""Account builders: a browser at an address, a signed-up account, a signed-in client by role."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts import service as accounts
from microdrama.accounts.models import Role, SessionKind
from microdrama.config import Settings
from microdrama.db import session_scope

PASSWORD = "correct horse battery"

Headers = dict[str, str]


def browser_at(app: FastAPI, ip: str) -> TestClient:
    """A separate browser (its own cookie jar) connecting from this address."""
    return TestClient(app, client=(ip, 40_000))


def sign_up(client: TestClient, email: str = "ana@example.com", password: str = PASSWORD) -> dict:
    response = client.post("/api/auth/signup", json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    return response.json()


def log_in(client: TestClient, email: str = "ana@example.com", password: str = PASSWORD) -> int:
    return client.post("/api/auth/login", json={"email": email, "password": password}).status_code


def signed_in(
    factory: sessionmaker[Session], settings: Settings, *, role: Role, name: str
) -> tuple[Headers, int]:
    """Bearer headers of a new account with this role, and its id."""
    with session_scope(factory) as db:
        account = accounts.create_account(db=db, display_name=name, role=role)
        token, _ = accounts.start_session(
            db=db, settings=settings, account=account, kind=SessionKind.bearer
        )
        account_id = account.id
    return {"Authorization": f"Bearer {token}"}, account_id
