"""The "about this demo" page: the demo logins with a one-click sign-in, in development only."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from microdrama.app import create_app
from microdrama.config import Settings
from microdrama.db import session_scope
from microdrama.demo.accounts import DemoLogins, ensure_demo_accounts


@pytest.fixture
def development(settings: Settings) -> Settings:
    return settings.model_copy(update={"environment": "development"})


@pytest.fixture
def dev_client(development: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(development)) as client:
        yield client


def ensure(db_factory: sessionmaker[Session], settings: Settings) -> DemoLogins:
    with session_scope(db_factory) as db:
        return ensure_demo_accounts(db=db, settings=settings)


def sign_in_form(page: str, role: str) -> dict[str, str]:
    """The hidden fields of the page's "sign in as" form for this role."""
    section = page.split(f'data-role="{role}"', 1)[1].split("</section>", 1)[0]
    return dict(re.findall(r'name="(\w+)" value="([^"]*)"', section))


def test_the_about_page_lists_each_role_and_signs_in_with_one_click(
    dev_client: TestClient, db_factory: sessionmaker[Session], development: Settings
) -> None:
    logins = ensure(db_factory, development)

    page = dev_client.get("/about")
    assert page.status_code == 200
    for login in logins.logins:
        assert login.email in page.text and login.password in page.text
    assert "Sign in as the operator" in page.text

    form = sign_in_form(page.text, "creator")
    answer = dev_client.post("/signin", data=form, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/studio"
    me = dev_client.get("/api/me").json()
    assert (me["role"], me["email"]) == ("creator", "creator@demo.microdrama.test")

    # Another role's button switches the same browser over.
    form = sign_in_form(dev_client.get("/about").text, "brand")
    assert dev_client.post("/signin", data=form, follow_redirects=False).status_code == 303
    assert dev_client.get("/api/me").json()["role"] == "brand"


def test_the_about_page_says_how_to_get_logins_before_the_seed(dev_client: TestClient) -> None:
    page = dev_client.get("/about")

    assert page.status_code == 200
    assert "No demo logins yet" in page.text
    assert "microdrama seed-demo" in page.text


def test_the_feed_links_to_the_about_page_in_development_only(
    dev_client: TestClient, client: TestClient
) -> None:
    assert 'href="/about"' in dev_client.get("/").text
    assert 'href="/about"' not in client.get("/").text


def test_the_sign_in_page_sends_a_newcomer_to_the_demo_logins_in_development_only(
    dev_client: TestClient, client: TestClient
) -> None:
    # The studio sends a newcomer to sign in; in development the form says where the demo's
    # creator login is, also when it comes back with an error.
    page = dev_client.get("/studio")
    assert page.url.path == "/signin"
    assert 'href="/about"' in page.text and "Trying the demo?" in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf is not None
    wrong = {"csrf_token": csrf.group(1), "email": "nobody@example.com", "password": "x" * 12}
    again = dev_client.post("/signin", data=wrong)
    assert again.status_code == 401 and 'href="/about"' in again.text
    assert 'href="/about"' not in client.get("/signin").text


@pytest.mark.parametrize("environment", ["test", "production"])
def test_outside_development_there_is_no_about_page(
    environment: str, settings: Settings, engine: Engine, db_factory: sessionmaker[Session]
) -> None:
    other = settings.model_copy(update={"environment": environment})
    logins = ensure(db_factory, other)

    with TestClient(create_app(other)) as client:
        page = client.get("/about")

    assert page.status_code == 404
    assert all(login.password not in page.text for login in logins.logins)
