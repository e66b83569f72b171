"""Provider webhooks: signed like Stripe's, verified, fresh, and applied once per event id."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from microdrama.config import Settings
from microdrama.db import session_scope
from microdrama.payments import purchases, webhooks
from microdrama.payments.models import PaymentEvent, Purchase, PurchaseStatus
from microdrama.wallet import ledger
from microdrama.wallet.models import LedgerTransaction
from tests.support.payments import balance, completed_event, signed, start_purchase, viewer

URL = "/api/payments/webhooks/sandbox"


def _pending_purchase(
    app: FastAPI, db_factory: sessionmaker[Session]
) -> tuple[Purchase, TestClient]:
    client, _ = viewer(app)
    created = start_purchase(client, coin_pack="coins_1000")
    with session_scope(db_factory) as db:
        purchase = purchases.get_purchase(db=db, purchase_id=created["id"])
    return purchase, client


def test_valid_signed_event_is_accepted_and_pays_the_purchase(
    app: FastAPI, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    purchase, client = _pending_purchase(app, db_factory)
    payload, header = signed(completed_event(purchase), settings.sandbox_webhook_secret)
    answer = client.post(URL, content=payload, headers={"Stripe-Signature": header})
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "applied"
    assert balance(client) == (1000, 100)

    replay = client.post(URL, content=payload, headers={"Stripe-Signature": header})
    assert replay.status_code == 200 and replay.json()["status"] == "duplicate"
    assert balance(client) == (1000, 100)


def test_one_changed_byte_is_refused(
    app: FastAPI, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    purchase, client = _pending_purchase(app, db_factory)
    payload, header = signed(completed_event(purchase), settings.sandbox_webhook_secret)
    at = payload.index(b'"amount_total": ') + len(b'"amount_total": ')
    tampered = payload[:at] + b"1" + payload[at + 1 :]  # 999 cents becomes 199
    answer = client.post(URL, content=tampered, headers={"Stripe-Signature": header})
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_signature"
    with session_scope(db_factory) as db:
        assert db.get(Purchase, purchase.id).status == PurchaseStatus.pending
        assert db.scalar(select(func.count(PaymentEvent.id))) == 0


def test_flipping_any_single_byte_breaks_the_signature(settings: Settings) -> None:
    from microdrama.payments.providers import SandboxProvider
    from microdrama.payments.signing import InvalidSignature

    sandbox = SandboxProvider(settings)
    payload, header = signed(
        {"id": "evt_1", "type": "x", "data": {"object": {}}}, settings.sandbox_webhook_secret
    )
    assert sandbox.construct_event(payload=payload, signature_header=header)["id"] == "evt_1"
    for index in range(len(payload)):
        tampered = payload[:index] + bytes([payload[index] ^ 0x01]) + payload[index + 1 :]
        try:
            sandbox.construct_event(payload=tampered, signature_header=header)
        except InvalidSignature:
            continue
        raise AssertionError(f"byte {index} changed and the signature still verified")


def test_timestamp_older_than_five_minutes_is_refused(
    app: FastAPI, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    purchase, client = _pending_purchase(app, db_factory)
    event = completed_event(purchase)
    payload, header = signed(event, settings.sandbox_webhook_secret, age_seconds=301)
    answer = client.post(URL, content=payload, headers={"Stripe-Signature": header})
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_signature"

    payload, header = signed(event, settings.sandbox_webhook_secret, age_seconds=240)
    fresh = client.post(URL, content=payload, headers={"Stripe-Signature": header})
    assert fresh.status_code == 200 and fresh.json()["status"] == "applied"


def test_missing_or_foreign_signatures_are_refused(
    app: FastAPI, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    purchase, client = _pending_purchase(app, db_factory)
    payload, _ = signed(completed_event(purchase), settings.sandbox_webhook_secret)
    _, wrong = signed(completed_event(purchase), "whsec_someone_else")
    for headers in ({}, {"Stripe-Signature": "t=1,v1=abc"}, {"Stripe-Signature": wrong}):
        answer = client.post(URL, content=payload, headers=headers)
        assert answer.status_code == 400
    # Stripe's route is closed while Stripe is not configured.
    assert client.post("/api/payments/webhooks/stripe", content=payload).status_code == 404


def test_same_event_delivered_ten_times_at_once_has_one_effect(
    app: FastAPI, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    purchase, client = _pending_purchase(app, db_factory)
    payload, header = signed(completed_event(purchase), settings.sandbox_webhook_secret)
    start = threading.Barrier(10)

    def deliver(_: int) -> str:
        start.wait()
        result = webhooks.handle_webhook(
            sessionmaker=db_factory,
            settings=settings,
            provider="sandbox",
            payload=payload,
            signature_header=header,
        )
        return result.status

    with ThreadPoolExecutor(10) as pool:
        statuses = sorted(pool.map(deliver, range(10)))
    assert statuses == ["applied"] + ["duplicate"] * 9
    assert balance(client) == (1000, 100)
    with session_scope(db_factory) as db:
        assert db.scalar(select(func.count(PaymentEvent.id))) == 1
        assert (
            db.scalar(
                select(func.count(LedgerTransaction.id)).where(
                    LedgerTransaction.reference == f"purchase:{purchase.id}"
                )
            )
            == 1
        )
        assert ledger.verify(db=db) == []


def test_two_different_paid_events_for_one_purchase_credit_once(
    app: FastAPI, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    purchase, client = _pending_purchase(app, db_factory)
    start = threading.Barrier(6)

    def deliver(_: int) -> str:
        payload, header = signed(completed_event(purchase), settings.sandbox_webhook_secret)
        start.wait()
        return webhooks.handle_webhook(
            sessionmaker=db_factory,
            settings=settings,
            provider="sandbox",
            payload=payload,
            signature_header=header,
        ).status

    with ThreadPoolExecutor(6) as pool:
        statuses = sorted(pool.map(deliver, range(6)))
    assert statuses == ["applied"] + ["ignored"] * 5
    assert balance(client) == (1000, 100)


def test_event_for_another_session_or_amount_pays_nothing(
    app: FastAPI, db_factory: sessionmaker[Session], settings: Settings
) -> None:
    purchase, client = _pending_purchase(app, db_factory)
    wrong_session = completed_event(purchase)
    wrong_session["data"]["object"]["id"] = "cs_sbx_someone_elses"
    payload, header = signed(wrong_session, settings.sandbox_webhook_secret)
    answer = client.post(URL, content=payload, headers={"Stripe-Signature": header})
    assert answer.json()["status"] == "ignored"

    cheaper = completed_event(purchase)
    cheaper["data"]["object"]["amount_total"] = 1
    payload, header = signed(cheaper, settings.sandbox_webhook_secret)
    client.post(URL, content=payload, headers={"Stripe-Signature": header})
    assert balance(client) == (0, 0)
    with session_scope(db_factory) as db:
        assert db.get(Purchase, purchase.id).status == PurchaseStatus.failed


def test_unknown_event_types_are_acknowledged_and_ignored(app: FastAPI, settings: Settings) -> None:
    client, _ = viewer(app)
    event = {"id": "evt_x", "type": "customer.created", "data": {"object": {"id": "cus_1"}}}
    payload, header = signed(event, settings.sandbox_webhook_secret)
    answer = client.post(URL, content=payload, headers={"Stripe-Signature": header})
    assert answer.status_code == 200 and answer.json()["status"] == "ignored"
