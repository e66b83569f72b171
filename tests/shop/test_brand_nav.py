"""A brand finds its statements from its pages, and its way back from the statements page."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts.models import Role
from microdrama.config import Settings
from tests.support.accounts import signed_in


def nav_links(html: str) -> list[str]:
    """The hrefs of the page header's links (the first <header> only)."""
    header = re.search(r"<header.*?</header>", html, re.S)
    assert header is not None, html[:500]
    return re.findall(r'href="([^"]+)"', header.group(0))


def test_the_brand_nav_links_to_statements_and_statements_link_back(
    client: TestClient, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    brand, _ = signed_in(db_factory, settings, role=Role.brand, name="Luma Beauty")

    products = client.get("/brand/products", headers=brand)
    assert products.status_code == 200
    assert "/brand/statements" in nav_links(products.text)

    statements = client.get("/brand/statements", headers=brand)
    assert statements.status_code == 200
    assert "/brand" in nav_links(statements.text)
