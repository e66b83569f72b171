"""The demo's logins: one per role, passwords generated into the data folder, reused on reruns."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts import service as accounts_service
from microdrama.accounts.models import Role
from microdrama.accounts.passwords import verify_password
from microdrama.config import Settings
from microdrama.db import session_scope
from microdrama.demo.accounts import (
    DEMO_VIEWER_COINS,
    DemoLogins,
    ensure_demo_accounts,
    logins_path,
)
from microdrama.demo.catalog import DEMO_CREATOR_NAME
from microdrama.wallet import ledger

SOURCE_DIR = Path(__file__).resolve().parents[2] / "src"


def ensure(db_factory: sessionmaker[Session], settings: Settings) -> DemoLogins:
    with session_scope(db_factory) as db:
        return ensure_demo_accounts(db=db, settings=settings)


def passwords(logins: DemoLogins) -> dict[str, str]:
    return {login.key: login.password for login in logins.logins}


def test_every_role_gets_a_login_that_signs_in(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    logins = ensure(db_factory, settings)

    roles = {}
    for login in logins.logins:
        client.cookies.clear()
        answer = client.post(
            "/api/auth/login", json={"email": login.email, "password": login.password}
        )
        assert answer.status_code == 200, answer.text
        roles[login.key] = answer.json()["role"]
    assert roles == {
        "viewer": "viewer",
        "creator": "creator",
        "brand": "brand",
        "operator": "admin",
    }


def test_a_rerun_reuses_the_accounts_and_passwords_from_the_data_folder(
    db_factory: sessionmaker[Session], settings: Settings
) -> None:
    first = ensure(db_factory, settings)
    second = ensure(db_factory, settings)

    assert sorted(first.created) == ["brand", "creator", "operator", "viewer"]
    assert second.created == []  # nothing new to print on a rerun
    assert passwords(second) == passwords(first)
    assert {k: a.id for k, a in second.accounts.items()} == {
        k: a.id for k, a in first.accounts.items()
    }
    path = logins_path(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = json.loads(path.read_text())
    assert {k: v["password"] for k, v in stored.items()} == passwords(first)


def test_the_viewer_gets_its_coins_once_through_the_ledger(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    logins = ensure(db_factory, settings)
    ensure(db_factory, settings)
    viewer = next(login for login in logins.logins if login.key == "viewer")

    client.post("/api/auth/login", json={"email": viewer.email, "password": viewer.password})
    wallet = client.get("/api/wallet").json()
    assert wallet["total_coins"] == DEMO_VIEWER_COINS
    history = client.get("/api/wallet/history").json()
    assert len(history["items"]) == 1
    with session_scope(db_factory) as db:
        assert ledger.verify(db=db) == []  # the balance is what the entries add up to


def test_passwords_are_generated_per_install_and_not_in_the_source(
    db_factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    first = ensure(db_factory, settings)
    other_install = settings.model_copy(update={"data_dir": tmp_path / "other-data"})
    second = ensure(db_factory, other_install)  # a lost file: new passwords, same accounts

    assert set(passwords(first).values()).isdisjoint(passwords(second).values())
    assert all(len(p) >= 16 for p in passwords(second).values())
    source = "\n".join(p.read_text() for p in SOURCE_DIR.rglob("*.py"))
    for password in [*passwords(first).values(), *passwords(second).values()]:
        assert password not in source
    # The old passwords no longer open anything; the new ones do.
    with session_scope(db_factory) as db:
        operator = next(login for login in second.logins if login.key == "operator")
        account = accounts_service.get_by_email(db=db, email=operator.email)
        assert account is not None and account.role == Role.admin
        old = passwords(first)["operator"]
        assert not verify_password(account.password_hash, old)
        assert verify_password(account.password_hash, operator.password)


def test_the_demo_creator_an_earlier_seed_made_without_a_login_gets_one(
    db_factory: sessionmaker[Session], settings: Settings
) -> None:
    with session_scope(db_factory) as db:
        earlier = accounts_service.create_account(
            db=db, display_name=DEMO_CREATOR_NAME, role=Role.creator
        )
        earlier_id = earlier.id

    logins = ensure(db_factory, settings)

    assert logins.creator.id == earlier_id
    assert logins.creator.email == "creator@demo.microdrama.test"
