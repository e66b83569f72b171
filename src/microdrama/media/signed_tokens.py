"""Signed tokens: a short list of values signed with the app's secret, read back only whole.

The HLS key tokens (media.protection) and the rewarded-ad sessions (paywall.ads) are such
lists; each kind has its own salt, so a token of one kind is never read as another.
"""

from __future__ import annotations

from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from microdrama.config import Settings


class SignedValues:
    """Tokens carrying one value of each of `types`, in order, signed under `salt`."""

    def __init__(self, salt: str, *types: type) -> None:
        self.salt = salt
        self.types = types

    def _serializer(self, settings: Settings) -> URLSafeSerializer:
        return URLSafeSerializer(settings.secret_key, salt=self.salt)

    def dumps(self, settings: Settings, values: list[Any]) -> str:
        return str(self._serializer(settings).dumps(values))

    def loads(self, settings: Settings, token: str) -> list[Any] | None:
        """The token's values if we signed it and they are of the expected types (a bool is
        not an int here); None otherwise."""
        try:
            payload: Any = self._serializer(settings).loads(token)
        except BadSignature:
            return None
        if (
            not isinstance(payload, list)
            or len(payload) != len(self.types)
            or not all(type(v) is t for v, t in zip(payload, self.types, strict=True))
        ):
            return None
        return payload
