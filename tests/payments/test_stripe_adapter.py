"""The Stripe adapter, without the network: webhooks verified by stripe's own library,
Checkout Sessions and refunds sent through a fake HTTP client that records the requests."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qsl

import pytest
import stripe
from fastapi import FastAPI

from microdrama.config import Settings
from microdrama.errors import NotFound
from microdrama.payments import providers, sandbox, signing
from microdrama.payments.models import Purchase, PurchaseKind, PurchaseStatus
from microdrama.payments.providers import Card, StripeProvider
from microdrama.payments.signing import InvalidSignature
from tests.support.payments import completed_event, viewer

WEBHOOK_SECRET = "whsec_test_stripe_endpoint"


class RecordingHTTPClient(stripe.HTTPClient):
    """Answers every Stripe API call with canned JSON and remembers what was asked."""

    name = "recording"

    def __init__(self, answers: dict[tuple[str, str], dict[str, Any]]) -> None:
        super().__init__()
        self.answers = answers
        self.requests: list[tuple[str, str, dict[str, str], dict[str, str]]] = []

    def request(
        self,
        method: str,
        url: str,
        headers: Any,
        post_data: Any = None,
        *,
        _usage: Any = None,
    ) -> tuple[str, int, dict[str, str]]:
        path = url.split("://", 1)[1].split("/", 1)[1].split("?", 1)[0]
        params = dict(parse_qsl(post_data or "", keep_blank_values=True))
        self.requests.append((method.upper(), "/" + path, dict(headers or {}), params))
        return json.dumps(self.answers[(method.upper(), "/" + path)]), 200, {}

    def close(self) -> None:
        pass


def _stripe_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "payment_provider": "stripe",
            "stripe_api_key": "sk_test_123",
            "stripe_webhook_secret": WEBHOOK_SECRET,
            "public_base_url": "https://drama.example",
        }
    )


def _purchase(**overrides: Any) -> Purchase:
    values: dict[str, Any] = {
        "id": 42,
        "account_id": 7,
        "kind": PurchaseKind.coin_pack,
        "amount_cents": 1999,
        "currency": "USD",
        "coins": 2000,
        "bonus_coins": 200,
        "provider": "stripe",
        "provider_ref": "cs_test_abc",
        "status": PurchaseStatus.pending,
    }
    return Purchase(**{**values, **overrides})


def test_construct_event_accepts_a_payload_signed_with_stripes_own_helper(
    settings: Settings,
) -> None:
    provider = StripeProvider(_stripe_settings(settings))
    payload = json.dumps(completed_event(_purchase()))
    header = stripe.WebhookSignature.generate_signature_header(payload, WEBHOOK_SECRET)
    event = provider.construct_event(payload=payload.encode(), signature_header=header)
    assert event["type"] == "checkout.session.completed"
    assert event["data"]["object"]["metadata"] == {"purchase_id": "42"}


def test_construct_event_rejects_a_tampered_or_stale_payload(settings: Settings) -> None:
    provider = StripeProvider(_stripe_settings(settings))
    payload = json.dumps(completed_event(_purchase())).encode()
    header = signing.sign(secret=WEBHOOK_SECRET, payload=payload)
    tampered = payload.replace(b'"amount_total": 1999', b'"amount_total": 1000')
    assert tampered != payload
    with pytest.raises(InvalidSignature):
        provider.construct_event(payload=tampered, signature_header=header)
    with pytest.raises(InvalidSignature):
        provider.construct_event(payload=b"\xff" + payload[1:], signature_header=header)
    stale = signing.sign(secret=WEBHOOK_SECRET, payload=payload, timestamp=int(time.time()) - 301)
    with pytest.raises(InvalidSignature):
        provider.construct_event(payload=payload, signature_header=stale)


def test_our_signer_and_stripes_verifier_agree(settings: Settings) -> None:
    """The sandbox signs exactly the way Stripe does: stripe's library accepts our header."""
    payload = json.dumps({"id": "evt_1", "type": "ping", "data": {"object": {}}}).encode()
    header = signing.sign(secret=settings.sandbox_webhook_secret, payload=payload)
    stripe.WebhookSignature.verify_header(
        payload.decode(), header, settings.sandbox_webhook_secret, tolerance=300
    )
    theirs = stripe.WebhookSignature.generate_signature_header(
        payload.decode(), settings.sandbox_webhook_secret
    )
    signing.verify(
        secret=settings.sandbox_webhook_secret,
        payload=payload,
        header=theirs,
        tolerance_seconds=300,
    )


def test_checkout_session_is_created_with_the_frozen_price_and_our_urls(
    settings: Settings,
) -> None:
    http = RecordingHTTPClient(
        {
            ("POST", "/v1/checkout/sessions"): {
                "id": "cs_test_new",
                "object": "checkout.session",
                "url": "https://checkout.stripe.com/c/pay/cs_test_new",
            }
        }
    )
    provider = StripeProvider(_stripe_settings(settings), http_client=http)
    session = provider.create_checkout(
        purchase=_purchase(provider_ref=None),
        description="2000 coins + 200 bonus",
        return_to="/watch/3/9",
    )
    assert session.session_id == "cs_test_new"
    assert session.url == "https://checkout.stripe.com/c/pay/cs_test_new"

    [(method, path, headers, params)] = http.requests
    assert (method, path) == ("POST", "/v1/checkout/sessions")
    assert headers["Authorization"] == "Bearer sk_test_123"
    assert headers["Idempotency-Key"] == "microdrama-purchase-42-checkout"
    assert params == {
        "mode": "payment",
        "line_items[0][quantity]": "1",
        "line_items[0][price_data][currency]": "usd",
        "line_items[0][price_data][unit_amount]": "1999",
        "line_items[0][price_data][product_data][name]": "2000 coins + 200 bonus",
        "client_reference_id": "42",
        "metadata[purchase_id]": "42",
        "metadata[account_id]": "7",
        "payment_intent_data[metadata][purchase_id]": "42",
        "payment_intent_data[metadata][account_id]": "7",
        "success_url": "https://drama.example/watch/3/9?purchase=42",
        "cancel_url": "https://drama.example/watch/3/9?purchase=42",
    }


def test_refund_goes_to_the_sessions_payment_intent(settings: Settings) -> None:
    http = RecordingHTTPClient(
        {
            ("GET", "/v1/checkout/sessions/cs_test_abc"): {
                "id": "cs_test_abc",
                "object": "checkout.session",
                "payment_intent": "pi_test_1",
            },
            ("POST", "/v1/refunds"): {"id": "re_1", "object": "refund", "status": "succeeded"},
        }
    )
    provider = StripeProvider(_stripe_settings(settings), http_client=http)
    assert provider.refund(purchase=_purchase(status=PurchaseStatus.paid)) == []
    refund = http.requests[-1]
    assert refund[:2] == ("POST", "/v1/refunds")
    assert refund[3]["payment_intent"] == "pi_test_1"
    assert refund[2]["Idempotency-Key"] == "microdrama-purchase-42-refund"


def test_purchase_through_stripe_returns_stripes_checkout_page(
    app: FastAPI, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    http = RecordingHTTPClient(
        {
            ("POST", "/v1/checkout/sessions"): {
                "id": "cs_test_route",
                "object": "checkout.session",
                "url": "https://checkout.stripe.com/c/pay/cs_test_route",
            }
        }
    )
    stripe_settings = _stripe_settings(settings)
    app.state.settings = stripe_settings
    stripe_provider = StripeProvider(stripe_settings, http_client=http)
    monkeypatch.setattr(providers, "get_provider", lambda *_: stripe_provider)
    client, _ = viewer(app)
    created = client.post(
        "/api/purchases",
        json={"coin_pack": "coins_2000", "return_to": "/series/1"},
        headers={"Idempotency-Key": "stripe-1"},
    ).json()
    assert created["checkout_url"] == "https://checkout.stripe.com/c/pay/cs_test_route"

    # Stripe then posts checkout.session.completed to our webhook route.
    event = completed_event(
        Purchase(id=created["id"], provider_ref="cs_test_route", amount_cents=1999, currency="USD")
    )
    payload = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(payload, WEBHOOK_SECRET)
    answer = client.post(
        "/api/payments/webhooks/stripe",
        content=payload.encode(),
        headers={"Stripe-Signature": header},
    )
    assert answer.status_code == 200 and answer.json()["status"] == "applied"
    assert client.get(f"/api/purchases/{created['id']}").json()["status"] == "paid"
    wallet = client.get("/api/wallet").json()
    assert (wallet["paid_coins"], wallet["bonus_coins"]) == (2000, 200)
    # The sandbox's webhook route is closed while Stripe is the provider.
    assert client.post("/api/payments/webhooks/sandbox", content=b"{}").status_code == 404


def test_sandbox_page_is_gone_when_stripe_is_selected(settings: Settings) -> None:
    with pytest.raises(NotFound):
        sandbox.pay_sandbox_checkout(
            sessionmaker=None,  # type: ignore[arg-type]
            settings=_stripe_settings(settings),
            session_id="cs_sbx_x",
            card=Card(number="4242424242424242", expiry="12/39", cvc="123"),
        )
