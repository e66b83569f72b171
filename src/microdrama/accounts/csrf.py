"""Cross-site request forgery: refuse cookie-authenticated writes that a browser says are
cross-site, and sign the tokens that HTML forms carry."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
FORM_FIELD = "csrf_token"


def form_token(*, secret_key: str, device_token: str) -> str:
    """The token a form rendered for this device must send back (HMAC of the device cookie)."""
    return hmac.new(
        secret_key.encode(), b"csrf:" + device_token.encode(), hashlib.sha256
    ).hexdigest()


def form_token_valid(*, secret_key: str, device_token: str | None, sent: str | None) -> bool:
    """True when the form's token was made by us for this very device."""
    if not device_token or not sent:
        return False
    expected = form_token(secret_key=secret_key, device_token=device_token)
    # As bytes: compare_digest raises TypeError for a str with non-ASCII characters.
    return hmac.compare_digest(expected.encode(), sent.encode("utf-8", "replace"))


class CsrfMiddleware:
    """Refuse (403 `csrf_failed`) unsafe requests that carry our cookies but come from another
    site: `Sec-Fetch-Site: cross-site`, or an `Origin` naming another host. Requests with a
    bearer token, or without our cookies, cannot ride on a victim's session and pass."""

    def __init__(
        self, app: ASGIApp, *, cookie_names: tuple[str, ...], trusted_hosts: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        self.cookie_names = cookie_names
        self.trusted_hosts = {h.lower() for h in trusted_hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        reason = self._refusal(headers)
        if reason is None:
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": "csrf_failed", "message": reason}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _refusal(self, headers: Headers) -> str | None:
        if headers.get("authorization", "").lower().startswith("bearer "):
            return None
        cookies = cookie_parser(headers.get("cookie", ""))
        if not any(name in cookies for name in self.cookie_names):
            return None
        if headers.get("sec-fetch-site", "").lower() == "cross-site":
            return "This request came from another site and was refused."
        origin = headers.get("origin")
        if origin is not None:
            origin_host = urlsplit(origin).netloc.lower() if origin != "null" else ""
            own = {headers.get("host", "").lower(), *self.trusted_hosts}
            if not origin_host or origin_host not in own:
                return "This request came from another origin and was refused."
        return None
