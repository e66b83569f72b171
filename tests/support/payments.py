"""Builders for payments tests: a viewer's browser, an admin, purchases and signed events."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microdrama.accounts import service as accounts
from microdrama.accounts.models import SessionKind
from microdrama.config import Settings
from microdrama.db import session_scope
from microdrama.payments import signing
from microdrama.payments.models import Purchase

PAYS = "4242 4242 4242 4242"
DECLINED = "4000 0000 0000 0002"
NO_FUNDS = "4000 0000 0000 9995"


def viewer(app: FastAPI) -> tuple[TestClient, int]:
    """A new browser whose guest account exists; returns it and the account id."""
    client = TestClient(app)
    me = client.get("/api/me")
    assert me.status_code == 200, me.text
    return client, int(me.json()["id"])


def admin_headers(factory: sessionmaker[Session], settings: Settings) -> dict[str, str]:
    """Bearer headers of a freshly made operator account."""
    with session_scope(factory) as db:
        admin = accounts.make_admin(
            db=db, email=f"ops-{uuid.uuid4().hex[:8]}@example.com", password="operator pass 123"
        )
        token, _ = accounts.start_session(
            db=db, settings=settings, account=admin, kind=SessionKind.bearer
        )
    return {"Authorization": f"Bearer {token}"}


def start_purchase(
    client: TestClient, *, return_to: str = "/watch/1/3", key: str | None = None, **product: str
) -> dict[str, Any]:
    """POST /api/purchases for one product; returns the 201 answer."""
    response = client.post(
        "/api/purchases",
        json={**product, "return_to": return_to},
        headers={"Idempotency-Key": key or uuid.uuid4().hex},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def pay(client: TestClient, checkout_url: str, card: str = PAYS, **fields: str) -> Any:
    """Submit the sandbox card form (without following the redirect back)."""
    page = client.get(checkout_url)
    assert page.status_code == 200, page.text
    form = {"card_number": card, "expiry": "12/39", "cvc": "123", "return_to": "/watch/1/3"}
    return client.post(checkout_url, data={**form, **fields}, follow_redirects=False)


def buy_coins(client: TestClient, pack: str = "coins_1000") -> int:
    """Buy a coin pack with the test card that pays; returns the purchase id."""
    created = start_purchase(client, coin_pack=pack)
    answer = pay(client, created["checkout_url"])
    assert answer.status_code == 303, answer.text
    return int(created["id"])


def balance(client: TestClient) -> tuple[int, int]:
    wallet = client.get("/api/wallet").json()
    return int(wallet["paid_coins"]), int(wallet["bonus_coins"])


def completed_event(purchase: Purchase, *, event_id: str | None = None) -> dict[str, Any]:
    """checkout.session.completed for the purchase, as Stripe (and the sandbox) send it."""
    return {
        "id": event_id or f"evt_test_{uuid.uuid4().hex}",
        "object": "event",
        "type": "checkout.session.completed",
        "created": int(time.time()),
        "data": {
            "object": {
                "id": purchase.provider_ref,
                "object": "checkout.session",
                "payment_status": "paid",
                "status": "complete",
                "client_reference_id": str(purchase.id),
                "metadata": {"purchase_id": str(purchase.id)},
                "amount_total": purchase.amount_cents,
                "currency": purchase.currency.lower(),
            }
        },
    }


def signed(event: dict[str, Any], secret: str, *, age_seconds: int = 0) -> tuple[bytes, str]:
    """The event's body and a Stripe-Signature header made `age_seconds` ago."""
    payload = json.dumps(event).encode()
    return payload, signing.sign(
        secret=secret, payload=payload, timestamp=int(time.time()) - age_seconds
    )
