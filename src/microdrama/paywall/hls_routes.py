"""Gated HLS: playlists only for entitled viewers, segment keys only with a fresh, bound token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from sqlalchemy.orm import Session

from microdrama.accounts.deps import CurrentViewer
from microdrama.accounts.models import Account
from microdrama.catalog.models import Episode
from microdrama.config import AppSettings, Settings
from microdrama.db import DbSession
from microdrama.errors import NotFound
from microdrama.media import protection
from microdrama.paywall.entitlement import entitlement, episode_locked_error, ready_episode
from microdrama.storage import AppStorage
from microdrama.types import PathId

# Included by paywall.routes.router (which has no prefix of its own).
hls_router = APIRouter(prefix="/api", tags=["playback"])

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
# Playlists carry a viewer-bound token, keys are secrets: neither may be kept by any cache.
PRIVATE = {"cache-control": "private, no-store"}


def _entitled_episode(
    *, db: Session, settings: Settings, viewer: Account, episode_id: int
) -> Episode:
    """The episode if it exists, is visible to the viewer and the viewer may play it."""
    episode = ready_episode(db=db, episode_id=episode_id, viewer=viewer)
    if not entitlement(db=db, viewer=viewer, episode=episode).allowed:
        raise episode_locked_error(settings=settings, episode=episode)
    return episode


def entitled_episode(
    episode_id: PathId, db: DbSession, settings: AppSettings, viewer: CurrentViewer
) -> Episode:
    """The path's episode, for a viewer entitled to play it (a route dependency)."""
    return _entitled_episode(db=db, settings=settings, viewer=viewer, episode_id=episode_id)


EntitledEpisode = Annotated[Episode, Depends(entitled_episode)]


@hls_router.get("/episodes/{episode_id}/hls/master.m3u8")
def master_playlist(episode: EntitledEpisode, storage: AppStorage) -> Response:
    """An episode's master playlist, for viewers entitled to play it."""
    text = protection.master_playlist(
        storage=storage, asset=episode.media_asset, episode_id=episode.id
    )
    return Response(text, media_type=PLAYLIST_TYPE, headers=PRIVATE)


@hls_router.get("/episodes/{episode_id}/hls/{rendition}/index.m3u8")
def media_playlist(
    rendition: str,
    episode: EntitledEpisode,
    settings: AppSettings,
    storage: AppStorage,
    viewer: CurrentViewer,
) -> Response:
    """One rendition's playlist with a key URL bound to this viewer and episode."""
    text = protection.media_playlist(
        storage=storage,
        settings=settings,
        asset=episode.media_asset,
        episode_id=episode.id,
        rendition=rendition,
        viewer_id=viewer.id,
    )
    return Response(text, media_type=PLAYLIST_TYPE, headers=PRIVATE)


@hls_router.get("/keys/{episode_id}")
def segment_key(
    episode_id: PathId,
    db: DbSession,
    settings: AppSettings,
    viewer: CurrentViewer,
    token: str | None = None,
) -> Response:
    """The episode's 16-byte AES-128 key: a valid token for this viewer, who is still entitled."""
    grant = protection.read_key_token(settings=settings, token=token)
    if grant.episode_id != episode_id:
        raise protection.KeyTokenInvalid("The key token is for another episode.")
    if grant.viewer_id != viewer.id:
        raise protection.KeyTokenInvalid("The key token was issued to someone else.")
    # Entitlement again, not only at playlist time: a refund or an expired VIP ends access
    # even while a token is still fresh.
    episode = _entitled_episode(db=db, settings=settings, viewer=viewer, episode_id=episode_id)
    asset = episode.media_asset
    if asset is None or asset.aes_key is None:
        raise NotFound("This episode's segments are not encrypted.", episode_id=episode_id)
    return Response(asset.aes_key, media_type="application/octet-stream", headers=PRIVATE)
