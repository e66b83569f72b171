"""Content protection: short-lived, viewer-bound key tokens and the playlists that carry them.

Stored playlists name segments relatively and carry KEY_URI_PLACEHOLDER as the key URI; a
viewer gets them rewritten: segments as static media URLs (encrypted, cacheable by a CDN) and
the key as /api/keys/{episode_id}?token=..., a token signed with the app's secret and bound to
the viewer, the episode and its time of issue.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import quote

from microdrama.config import Settings
from microdrama.errors import DomainError, NotFound
from microdrama.media.models import MediaAsset
from microdrama.media.signed_tokens import SignedValues
from microdrama.storage import Storage

KEY_TOKEN_SALT = "microdrama.hls-key"
# A token issued this far "in the future" was not made by a server with a sane clock.
CLOCK_SKEW_S = 30
# Where a viewer's key URL goes in a playlist template (no playlist line contains a NUL).
KEY_URL_MARK = "\x00"
_KEY_LINE = re.compile(r'^(#EXT-X-KEY:.*URI=")([^"]*)(".*)$')


class KeyTokenMissing(DomainError, code="key_token_missing", status_code=401): ...


class KeyTokenInvalid(DomainError, code="key_token_invalid", status_code=403): ...


class KeyTokenExpired(DomainError, code="key_token_expired", status_code=403): ...


@dataclass(frozen=True)
class KeyGrant:
    """What a valid key token says: this viewer may fetch this episode's key (until expiry)."""

    viewer_id: int
    episode_id: int
    issued_at_s: int


# [viewer_id, episode_id, issued_at_s]
_KEY_TOKEN = SignedValues(KEY_TOKEN_SALT, int, int, int)


def issue_key_token(
    *, settings: Settings, viewer_id: int, episode_id: int, now_s: float | None = None
) -> str:
    """A signed token letting one viewer fetch one episode's key for key_token_seconds."""
    issued = int(now_s if now_s is not None else time.time())
    return _KEY_TOKEN.dumps(settings, [viewer_id, episode_id, issued])


def read_key_token(
    *, settings: Settings, token: str | None, now_s: float | None = None
) -> KeyGrant:
    """The grant inside a token; KeyTokenMissing / KeyTokenInvalid / KeyTokenExpired otherwise."""
    if not token:
        raise KeyTokenMissing("A key token is needed: fetch the episode's playlist first.")
    payload = _KEY_TOKEN.loads(settings, token)
    if payload is None:
        raise KeyTokenInvalid("The key token is not valid.")
    viewer_id, episode_id, issued = payload
    now = now_s if now_s is not None else time.time()
    if issued > now + CLOCK_SKEW_S:
        raise KeyTokenInvalid("The key token is not valid.")
    if now - issued > settings.key_token_seconds:
        raise KeyTokenExpired("The key token has expired: reload the episode's playlist.")
    return KeyGrant(viewer_id=viewer_id, episode_id=episode_id, issued_at_s=issued)


def episode_rendition_url(episode_id: int, rendition: str) -> str:
    """Where players fetch one rendition's media playlist (gated by entitlement)."""
    return f"/api/episodes/{episode_id}/hls/{rendition}/index.m3u8"


def key_url(*, episode_id: int, token: str) -> str:
    return f"/api/keys/{episode_id}?token={quote(token, safe='')}"


def _require_ready(asset: MediaAsset | None, episode_id: int) -> MediaAsset:
    if asset is None or not asset.master_playlist_key:
        raise NotFound("The episode has no playable media.", episode_id=episode_id)
    return asset


def rendition_names(asset: MediaAsset) -> list[str]:
    """The names of an asset's renditions ("640p", ...), tallest first."""
    return [PurePosixPath(r["playlist_key"]).parent.name for r in asset.renditions]


def _read_playlist(storage: Storage, key: str, episode_id: int) -> str:
    try:
        return storage.read_bytes(key).decode()
    except FileNotFoundError:
        # The row says ready but the bytes are gone (a lost volume, a half-restored backup):
        # a clear answer the player can show, not a 500.
        raise NotFound(
            "This episode's video is missing from storage.", episode_id=episode_id
        ) from None


def master_playlist(*, storage: Storage, asset: MediaAsset | None, episode_id: int) -> str:
    """The stored master playlist with its variants pointing at the gated rendition route."""
    asset = _require_ready(asset, episode_id)
    assert asset.master_playlist_key is not None
    text = _read_playlist(storage, asset.master_playlist_key, episode_id)
    lines = []
    for line in text.splitlines():
        if line and not line.startswith("#"):
            rendition = PurePosixPath(line).parent.name
            line = episode_rendition_url(episode_id, rendition)
        lines.append(line)
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class PlaylistTemplate:
    """A rendition's playlist as a viewer gets it, but for the key URL: `parts` joined by a
    viewer's key URL (one part: an unencrypted rendition)."""

    parts: tuple[str, ...]

    def render(self, *, settings: Settings, episode_id: int, viewer_id: int) -> str:
        """The playlist with a fresh key URL bound to this viewer and episode."""
        if len(self.parts) == 1:
            return self.parts[0]
        token = issue_key_token(settings=settings, viewer_id=viewer_id, episode_id=episode_id)
        return key_url(episode_id=episode_id, token=token).join(self.parts)


def rendition_template(
    *, storage: Storage, asset: MediaAsset | None, episode_id: int, rendition: str
) -> PlaylistTemplate:
    """One rendition's playlist with static segment URLs, ready for a viewer's key URL."""
    asset = _require_ready(asset, episode_id)
    playlist_key = next(
        (
            r["playlist_key"]
            for r in asset.renditions
            if PurePosixPath(r["playlist_key"]).parent.name == rendition
        ),
        None,
    )
    if playlist_key is None:
        raise NotFound("No such rendition.", episode_id=episode_id, rendition=rendition)
    base = PurePosixPath(playlist_key).parent
    lines = []
    for line in _read_playlist(storage, playlist_key, episode_id).splitlines():
        key_line = _KEY_LINE.match(line)
        if key_line:
            line = key_line.group(1) + KEY_URL_MARK + key_line[3]
        elif line and not line.startswith("#"):
            line = storage.url(f"{base}/{line}")
        lines.append(line)
    return PlaylistTemplate(tuple(("\n".join(lines) + "\n").split(KEY_URL_MARK)))


def media_playlist(
    *,
    storage: Storage,
    settings: Settings,
    asset: MediaAsset | None,
    episode_id: int,
    rendition: str,
    viewer_id: int,
) -> str:
    """One rendition's playlist: static segment URLs and a fresh, viewer-bound key URL."""
    template = rendition_template(
        storage=storage, asset=asset, episode_id=episode_id, rendition=rendition
    )
    return template.render(settings=settings, episode_id=episode_id, viewer_id=viewer_id)
