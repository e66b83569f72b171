"""Payment providers: the built-in sandbox and Stripe, behind one PaymentProvider interface.

A provider creates checkout sessions, verifies the webhooks it sends us and starts refunds.
Outcomes always arrive as Stripe-shaped webhook events: Stripe posts them to our webhook route
later; the sandbox hands its signed events back at once (`SignedEvent`) and the service feeds
them into the very same verification and effect path.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, Protocol
from urllib.parse import quote

from fastapi import Depends

from microdrama.config import AppSettings, Settings
from microdrama.dependencies import in_event_loop
from microdrama.errors import DomainError
from microdrama.payments import signing
from microdrama.payments.models import Purchase

if TYPE_CHECKING:
    import stripe

SANDBOX = "sandbox"
STRIPE = "stripe"


class PaymentProviderError(DomainError, code="payment_provider_error", status_code=502): ...


class CardInvalid(DomainError):
    """A card form that cannot be charged at all (checked before any payment attempt)."""

    status_code = 422
    code = "card_invalid"


class RenewalUnsupported(DomainError, code="renewal_unsupported", status_code=409): ...


@dataclass(frozen=True)
class CheckoutSession:
    session_id: str
    url: str


@dataclass(frozen=True)
class SignedEvent:
    """A webhook as it travels: the raw body and its Stripe-Signature header."""

    payload: bytes
    signature_header: str


@dataclass(frozen=True)
class Card:
    """A card as typed on the sandbox's checkout page (checked by SandboxProvider.pay)."""

    number: str
    expiry: str  # MM/YY
    cvc: str


@dataclass(frozen=True)
class CardResult:
    paid: bool
    event: SignedEvent
    message: str = ""
    decline_code: str = ""


@dataclass(frozen=True)
class TestCard:
    number: str
    label: str
    decline_code: str = ""  # empty: the card pays
    message: str = ""


# Stripe's own test numbers, so people who know Stripe know these.
TEST_CARDS = (
    TestCard("4242424242424242", "pays"),
    TestCard("4000000000000002", "is declined", "generic_decline", "Your card was declined."),
    TestCard(
        "4000000000009995",
        "has insufficient funds",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
)
SAVED_TEST_CARD = TEST_CARDS[0]


class PaymentProvider(Protocol):
    """What the payments service needs from a payment provider."""

    name: str

    def create_checkout(
        self, *, purchase: Purchase, description: str, return_to: str
    ) -> CheckoutSession:
        """A hosted checkout page for the purchase (its id becomes purchase.provider_ref)."""
        ...

    def construct_event(self, *, payload: bytes, signature_header: str | None) -> dict[str, Any]:
        """The webhook event, after its signature and age were verified (InvalidSignature)."""
        ...

    def refund(self, *, purchase: Purchase) -> list[SignedEvent]:
        """Start a full refund; returns the events the provider sends back at once, if any."""
        ...

    def charge_renewal(self, *, purchase: Purchase, previous: Purchase) -> list[SignedEvent]:
        """Charge the payment method saved with `previous` for the renewal `purchase`."""
        ...


def with_query(path: str, **params: str | int) -> str:
    """The path with query parameters appended (it may already have some)."""
    query = "&".join(f"{name}={quote(str(value), safe='')}" for name, value in params.items())
    return f"{path}{'&' if '?' in path else '?'}{query}"


def _purchase_metadata(purchase: Purchase) -> dict[str, str]:
    return {"purchase_id": str(purchase.id), "account_id": str(purchase.account_id)}


# --- the sandbox ----------------------------------------------------------------------------


@dataclass
class SandboxProvider:
    """The built-in provider: its own card page, Stripe-shaped events signed like Stripe's."""

    settings: Settings
    name: str = field(default=SANDBOX, init=False)

    def create_checkout(
        self, *, purchase: Purchase, description: str, return_to: str
    ) -> CheckoutSession:
        """A sandbox session: an unguessable id and the sandbox's own card page."""
        session_id = f"cs_sbx_{secrets.token_urlsafe(24)}"
        # Relative on purpose: the page is served by this very app, whatever host it runs on.
        url = with_query(f"/sandbox/checkout/{session_id}", return_to=return_to)
        return CheckoutSession(session_id=session_id, url=url)

    def construct_event(self, *, payload: bytes, signature_header: str | None) -> dict[str, Any]:
        """Verify with the sandbox secret (the Stripe scheme) and parse the event."""
        signing.verify(
            secret=self.settings.sandbox_webhook_secret,
            payload=payload,
            header=signature_header,
            tolerance_seconds=self.settings.webhook_tolerance_seconds,
        )
        return _parse_event(payload)

    def pay(self, *, purchase: Purchase, card: Card, today: date) -> CardResult:
        """Charge a test card: 4242… pays, 4000…0002 and 4000…9995 are declined."""
        number = _check_card(card, today)
        test_card = next((c for c in TEST_CARDS if c.number == number), None)
        if test_card is None:
            test_card = TestCard(
                number,
                "unknown",
                "test_mode_live_card",
                "Your card was declined: the sandbox only accepts its test card numbers.",
            )
        if test_card.decline_code:
            event = self._payment_failed_event(purchase, test_card)
            return CardResult(False, event, test_card.message, test_card.decline_code)
        return CardResult(True, self._session_completed_event(purchase, test_card))

    def refund(self, *, purchase: Purchase) -> list[SignedEvent]:
        """The sandbox refunds at once and sends charge.refunded right away."""
        charge = {
            "id": f"ch_sbx_{purchase.id}",
            "object": "charge",
            "amount": purchase.amount_cents,
            "amount_refunded": purchase.amount_cents,
            "currency": purchase.currency.lower(),
            "refunded": True,
            "payment_intent": self._payment_intent_id(purchase),
            "metadata": _purchase_metadata(purchase),
        }
        return [self._event("charge.refunded", charge)]

    def charge_renewal(self, *, purchase: Purchase, previous: Purchase) -> list[SignedEvent]:
        """The saved test card (the one that paid before) pays the renewal."""
        return [self._session_completed_event(purchase, SAVED_TEST_CARD)]

    def _payment_intent_id(self, purchase: Purchase) -> str:
        return f"pi_sbx_{purchase.id}"

    def _session_completed_event(self, purchase: Purchase, card: TestCard) -> SignedEvent:
        session = {
            "id": purchase.provider_ref,
            "object": "checkout.session",
            "mode": "payment",
            "status": "complete",
            "payment_status": "paid",
            "client_reference_id": str(purchase.id),
            "metadata": _purchase_metadata(purchase),
            "amount_total": purchase.amount_cents,
            "currency": purchase.currency.lower(),
            "payment_intent": self._payment_intent_id(purchase),
            "payment_method_details": {"card": {"brand": "visa", "last4": card.number[-4:]}},
        }
        return self._event("checkout.session.completed", session)

    def _payment_failed_event(self, purchase: Purchase, card: TestCard) -> SignedEvent:
        intent = {
            "id": self._payment_intent_id(purchase),
            "object": "payment_intent",
            "status": "requires_payment_method",
            "amount": purchase.amount_cents,
            "currency": purchase.currency.lower(),
            "metadata": _purchase_metadata(purchase),
            "last_payment_error": {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": card.decline_code,
                "message": card.message,
                "payment_method": {"card": {"last4": card.number[-4:]}},
            },
        }
        return self._event("payment_intent.payment_failed", intent)

    def _event(self, event_type: str, obj: dict[str, Any]) -> SignedEvent:
        event = {
            "id": f"evt_sbx_{secrets.token_urlsafe(18)}",
            "object": "event",
            "type": event_type,
            "created": int(time.time()),
            "livemode": False,
            "data": {"object": obj},
        }
        payload = json.dumps(event, separators=(",", ":")).encode()
        header = signing.sign(secret=self.settings.sandbox_webhook_secret, payload=payload)
        return SignedEvent(payload=payload, signature_header=header)


def _luhn_ok(number: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _check_card(card: Card, today: date) -> str:
    """The card number's digits, or CardInvalid with the field people need to fix."""
    number = "".join(card.number.split()).replace("-", "")
    if not number.isdigit() or not 12 <= len(number) <= 19 or not _luhn_ok(number):
        raise CardInvalid("Your card number is invalid.", field="card_number")
    month_text, _, year_text = card.expiry.replace(" ", "").partition("/")
    if not (month_text.isdigit() and year_text.isdigit() and len(year_text) in (2, 4)):
        raise CardInvalid("Enter the expiry date as MM/YY.", field="expiry")
    month, year = int(month_text), int(year_text)
    year += 2000 if year < 100 else 0
    if not 1 <= month <= 12:
        raise CardInvalid("Your card's expiration month is invalid.", field="expiry")
    if (year, month) < (today.year, today.month):
        raise CardInvalid("Your card's expiration date is in the past.", field="expiry")
    if not (card.cvc.strip().isdigit() and len(card.cvc.strip()) in (3, 4)):
        raise CardInvalid("Your card's security code is invalid.", field="cvc")
    return number


def _parse_event(payload: bytes) -> dict[str, Any]:
    try:
        event = json.loads(payload)
    except ValueError:
        raise signing.InvalidSignature("The webhook body is not JSON.") from None
    if not (
        isinstance(event, dict)
        and isinstance(event.get("id"), str)
        and isinstance(event.get("type"), str)
        and isinstance(event.get("data"), dict)
        and isinstance(event["data"].get("object"), dict)
    ):
        raise signing.InvalidSignature("The webhook body is not an event.")
    return event


# --- Stripe ---------------------------------------------------------------------------------


@dataclass
class StripeProvider:
    """Stripe Checkout Sessions, webhooks and refunds through the official library."""

    settings: Settings
    # Tests inject a fake stripe.HTTPClient here; None uses the library's default (network).
    http_client: Any = None
    name: str = field(default=STRIPE, init=False)

    def _client(self) -> stripe.StripeClient:
        import stripe

        if not self.settings.stripe_api_key:
            raise PaymentProviderError("Stripe is selected but MICRODRAMA_STRIPE_API_KEY is empty.")
        if self.http_client is not None:
            return stripe.StripeClient(self.settings.stripe_api_key, http_client=self.http_client)
        return stripe.StripeClient(self.settings.stripe_api_key)

    def create_checkout(
        self, *, purchase: Purchase, description: str, return_to: str
    ) -> CheckoutSession:
        """A Stripe Checkout Session in payment mode for the purchase's frozen price."""
        import stripe

        base = self.settings.public_base_url.rstrip("/")
        metadata = _purchase_metadata(purchase)
        try:
            session = self._client().v1.checkout.sessions.create(
                params={
                    "mode": "payment",
                    "line_items": [
                        {
                            "quantity": 1,
                            "price_data": {
                                "currency": purchase.currency.lower(),
                                "unit_amount": purchase.amount_cents,
                                "product_data": {"name": description},
                            },
                        }
                    ],
                    "client_reference_id": str(purchase.id),
                    "metadata": metadata,
                    # Copied onto the PaymentIntent and its charges: refund and failure
                    # events then name the purchase too.
                    "payment_intent_data": {"metadata": metadata},
                    "success_url": base + with_query(return_to, purchase=purchase.id),
                    "cancel_url": base + with_query(return_to, purchase=purchase.id),
                },
                options={"idempotency_key": f"microdrama-purchase-{purchase.id}-checkout"},
            )
        except stripe.StripeError as exc:
            raise PaymentProviderError(f"Stripe refused the checkout: {exc.user_message}") from exc
        if not session.url:
            raise PaymentProviderError("Stripe returned a checkout session without a URL.")
        return CheckoutSession(session_id=session.id, url=session.url)

    def construct_event(self, *, payload: bytes, signature_header: str | None) -> dict[str, Any]:
        """Verified by stripe.Webhook.construct_event with the endpoint's signing secret."""
        import stripe

        if not self.settings.stripe_webhook_secret:
            raise signing.InvalidSignature("No Stripe webhook secret is configured.")
        try:
            stripe.Webhook.construct_event(
                payload,
                signature_header,
                self.settings.stripe_webhook_secret,
                tolerance=self.settings.webhook_tolerance_seconds,
            )
        except (stripe.SignatureVerificationError, ValueError) as exc:
            # ValueError covers bodies that are not UTF-8 or not JSON.
            raise signing.InvalidSignature("The Stripe signature does not verify.") from exc
        return _parse_event(payload)

    def refund(self, *, purchase: Purchase) -> list[SignedEvent]:
        """Refund the session's PaymentIntent; charge.refunded arrives later by webhook."""
        import stripe

        if not purchase.provider_ref:
            raise PaymentProviderError("This purchase has no Stripe checkout session.")
        client = self._client()
        try:
            session = client.v1.checkout.sessions.retrieve(purchase.provider_ref)
            intent = session.payment_intent
            intent_id = intent if isinstance(intent, str) else getattr(intent, "id", None)
            if not intent_id:
                raise PaymentProviderError("The Stripe session has no payment to refund.")
            client.v1.refunds.create(
                params={"payment_intent": intent_id, "metadata": _purchase_metadata(purchase)},
                options={"idempotency_key": f"microdrama-purchase-{purchase.id}-refund"},
            )
        except stripe.StripeError as exc:
            raise PaymentProviderError(f"Stripe refused the refund: {exc.user_message}") from exc
        return []

    def charge_renewal(self, *, purchase: Purchase, previous: Purchase) -> list[SignedEvent]:
        """Not yet: off-session renewals need Stripe customers and saved payment methods."""
        raise RenewalUnsupported("Automatic VIP renewal is not available with Stripe yet.")


def get_provider(settings: Settings, name: str | None = None) -> PaymentProvider:
    """The provider by name (default: the configured one)."""
    name = name or settings.payment_provider
    if name == SANDBOX:
        return SandboxProvider(settings)
    if name == STRIPE:
        return StripeProvider(settings)
    raise PaymentProviderError(f"Unknown payment provider {name!r}.")


def payment_provider(settings: AppSettings) -> PaymentProvider:
    """The configured provider (a route dependency: tests replace `get_provider`, with a fake
    HTTP client for instance; app.dependency_overrides does not reach routes, routing.py)."""
    return get_provider(settings)


Provider = Annotated[PaymentProvider, Depends(in_event_loop(payment_provider))]
