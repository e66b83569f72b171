"""Gated HLS: playlists only for entitled viewers, segment keys only with a fresh, bound token."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from microdrama.accounts.deps import CurrentViewer, current_viewer, current_viewer_id
from microdrama.accounts.models import Account
from microdrama.catalog.models import Episode
from microdrama.config import AppSettings, Settings
from microdrama.db import DbSession, session_factory, session_scope
from microdrama.errors import NotFound
from microdrama.media import protection
from microdrama.paywall.entitlement import (
    entitlement,
    episode_locked_error,
    proven_key,
    ready_episode,
)
from microdrama.storage import AppStorage
from microdrama.types import PathId

# Included by paywall.routes.router (which has no prefix of its own).
hls_router = APIRouter(prefix="/api", tags=["playback"])

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
# Playlists carry a viewer-bound token, keys are secrets: neither may be kept by any cache.
PRIVATE = {"cache-control": "private, no-store"}

T = TypeVar("T")


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


async def _in_one_trip(request: Request, work: Callable[[Session], T]) -> T:
    """`work(db)` in one transaction and one trip to the thread pool: a player asks for a
    master playlist and a key per episode, and declared dependencies (the viewer, the
    request's session and its end) were three trips more."""
    factory = session_factory(request)

    def run() -> T:
        with session_scope(factory) as db:
            return work(db)

    return await run_in_threadpool(run)


@hls_router.get("/episodes/{episode_id}/hls/master.m3u8")
async def master_playlist(
    episode_id: PathId,
    request: Request,
    response: Response,
    settings: AppSettings,
    storage: AppStorage,
) -> Response:
    """An episode's master playlist, for viewers entitled to play it."""

    def playlist(db: Session) -> str:
        viewer = current_viewer(request, response, db)
        episode = _entitled_episode(db=db, settings=settings, viewer=viewer, episode_id=episode_id)
        return protection.master_playlist(
            storage=storage, asset=episode.media_asset, episode_id=episode.id
        )

    text = await _in_one_trip(request, playlist)
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
async def segment_key(
    episode_id: PathId,
    request: Request,
    response: Response,
    settings: AppSettings,
    token: str | None = None,
) -> Response:
    """The episode's 16-byte AES-128 key: a valid token for this viewer, who is still entitled.

    Entitlement is checked again on every request, not only at playlist time: a refund or an
    expired VIP ends access even while a token is still fresh. One query proves the common
    case (`entitlement.proven_key`); anything it cannot prove takes the full check, which
    explains a refusal."""
    grant = protection.read_key_token(settings=settings, token=token)
    if grant.episode_id != episode_id:
        raise protection.KeyTokenInvalid("The key token is for another episode.")

    def key(db: Session) -> bytes:
        viewer_id = current_viewer_id(request, response, db)
        if grant.viewer_id != viewer_id:
            raise protection.KeyTokenInvalid("The key token was issued to someone else.")
        proven = proven_key(db=db, viewer_id=viewer_id, episode_id=episode_id)
        if proven is not None:
            return proven
        viewer = current_viewer(request, response, db)
        episode = _entitled_episode(db=db, settings=settings, viewer=viewer, episode_id=episode_id)
        asset = episode.media_asset
        if asset is None or asset.aes_key is None:
            raise NotFound("This episode's segments are not encrypted.", episode_id=episode_id)
        return asset.aes_key

    secret = await _in_one_trip(request, key)
    return Response(secret, media_type="application/octet-stream", headers=PRIVATE)
