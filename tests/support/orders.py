"""Builders for order tests: a viewer's browser, a shipping address, checkout and payment."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.shop.models import ProductVariant
from microdrama.wallet import ledger
from microdrama.wallet.models import Currency, LedgerAccountKind

PAYS = "4242 4242 4242 4242"

ADDRESS = {
    "name": "Mia Chen",
    "line1": "12 Harbour Street",
    "city": "Portland",
    "postal_code": "97201",
    "region": "OR",
    "country": "US",
}


def start_checkout(
    client: TestClient, *, key: str | None = None, **body: Any
) -> tuple[int, dict[str, Any]]:
    """POST /api/checkout with the address; returns (status, answer)."""
    response = client.post(
        "/api/checkout",
        json={"shipping": ADDRESS, **body},
        headers={"Idempotency-Key": key or uuid.uuid4().hex},
    )
    return response.status_code, dict(response.json())


def pay(client: TestClient, checkout_url: str, order_id: int, card: str = PAYS) -> Any:
    """Pay on the sandbox card page; returns the answer (a 303 back to the order when paid)."""
    page = client.get(checkout_url)
    assert page.status_code == 200, page.text
    form = {
        "card_number": card,
        "expiry": "12/39",
        "cvc": "123",
        "return_to": f"/orders/{order_id}",
    }
    return client.post(checkout_url, data=form, follow_redirects=False)


def buy(client: TestClient, **body: Any) -> dict[str, Any]:
    """Checkout and pay with the card that pays; returns the paid order."""
    status, started = start_checkout(client, **body)
    assert status == 201, started
    order_id = started["order"]["id"]
    answer = pay(client, started["checkout_url"], order_id)
    assert answer.status_code == 303, answer.text
    order = client.get(f"/api/orders/{order_id}").json()
    return dict(order)


def stock(factory: sessionmaker[Session], variant_id: int) -> int:
    with factory() as db:
        variant = db.get(ProductVariant, variant_id)
        assert variant is not None
        return variant.stock


def usd_balance(
    factory: sessionmaker[Session], kind: LedgerAccountKind, owner_id: int | None
) -> int:
    with factory() as db:
        account = ledger.ledger_account(db=db, kind=kind, currency=Currency.usd, owner_id=owner_id)
        balance = ledger.account_balance(db=db, account=account)
        db.commit()
        return balance


def books_are_clean(factory: sessionmaker[Session]) -> bool:
    with factory() as db:
        return ledger.verify(db=db) == []
