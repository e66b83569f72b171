"""Webhook signatures the way Stripe makes them: `Stripe-Signature: t=<unix>,v1=<hex>`.

v1 is HMAC-SHA256(secret, f"{t}.{body}"). The sandbox signs its own events with this and the
same header format, so one verification path serves the sandbox and Stripe alike.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from microdrama.errors import DomainError

SIGNATURE_HEADER = "Stripe-Signature"


class InvalidSignature(DomainError, code="invalid_signature", status_code=400): ...


def compute_signature(*, secret: str, timestamp: int, payload: bytes) -> str:
    """The hex HMAC-SHA256 of "{timestamp}.{payload}" under the secret."""
    signed = str(timestamp).encode() + b"." + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(*, secret: str, payload: bytes, timestamp: int | None = None) -> str:
    """A Stripe-Signature header value for the payload."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = compute_signature(secret=secret, timestamp=timestamp, payload=payload)
    return f"t={timestamp},v1={signature}"


def verify(
    *,
    secret: str,
    payload: bytes,
    header: str | None,
    tolerance_seconds: int,
    now: int | None = None,
) -> None:
    """Raise InvalidSignature unless a v1 signature matches and the timestamp is recent."""
    if not header:
        raise InvalidSignature(f"The {SIGNATURE_HEADER} header is missing.")
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise InvalidSignature("The signature timestamp is not a number.") from None
        elif name == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        raise InvalidSignature("The signature header has no timestamp or no v1 signature.")
    expected = compute_signature(secret=secret, timestamp=timestamp, payload=payload)
    if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
        raise InvalidSignature("No signature matches the payload.")
    now = int(time.time()) if now is None else now
    # Too old is a replay risk; a little in the future is clock skew (Stripe accepts it too).
    if timestamp < now - tolerance_seconds:
        raise InvalidSignature(
            "The signature timestamp is outside the tolerance.",
            tolerance_seconds=tolerance_seconds,
        )
