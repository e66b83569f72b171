"""The gated playlists (master and renditions) without the routes' per-request database work.

A player asks for an episode's master playlist, then a rendition playlist every time it starts
the episode or switches rungs, and the routes (hls_routes) load the viewer, the episode, its
series and its asset and read the playlist from storage each time: ≈ 2-4 ms of Python, the
largest share of a web process's CPU in the load test. Most of those requests repeat what the
process saw a moment ago, so this answers them from two small per-process caches:

- an episode's *facts*: its number, its series' free episodes and owner, its master playlist
  and each rendition's playlist as a template waiting for a key URL; kept 2 s and only while
  the episode is ready and its series live (a studio change clears them at once, as it clears
  the public cache);
- a device cookie's account id, kept 60 s (a device's guest account never changes).

It answers only what it can prove allowed from those facts: a free episode, the viewer's own
series, or (one indexed query in a worker thread) an unlock or a VIP pass the viewer holds.
Everything else (no device cookie, a bearer token or a session cookie, an unknown device, a
locked episode, an episode not cached as playable) goes to the route, which decides and
explains. The key route always checks entitlement in full: a playlist only names the key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi.routing import APIRoute
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from microdrama.accounts import service as accounts
from microdrama.accounts.deps import DEVICE_COOKIE, SESSION_COOKIE
from microdrama.cache import TTLCache
from microdrama.catalog import service as catalog
from microdrama.catalog.models import EpisodeState
from microdrama.config import Settings
from microdrama.db import session_scope, utcnow
from microdrama.errors import NotFound
from microdrama.media import protection
from microdrama.paywall.entitlement import has_active_vip, has_unlock
from microdrama.paywall.hls_routes import hls_router
from microdrama.storage import Storage

ROUTE_PATH = "/api/episodes/{episode_id}/hls/{rendition}/index.m3u8"
MASTER_ROUTE_PATH = "/api/episodes/{episode_id}/hls/master.m3u8"
# An episode's master playlist (no rendition) or one rendition's playlist.
PLAYLIST_PATH = re.compile(
    r"/api/episodes/([1-9][0-9]{0,17})/hls/(?:([A-Za-z0-9_-]{1,32})/index|master)\.m3u8"
)
FACTS_SECONDS = 2.0
DEVICE_SECONDS = 60.0
PLAYLIST_HEADERS = [
    (b"content-type", b"application/vnd.apple.mpegurl"),
    (b"cache-control", b"private, no-store"),
]


@dataclass(frozen=True)
class EpisodeFacts:
    """What deciding a viewer's playlist needs, for a ready episode of a live series."""

    number: int
    free_episodes: int
    owner_id: int
    master: str
    playlists: dict[str, protection.PlaylistTemplate]


def episode_facts(
    *, factory: sessionmaker[Session], storage: Storage, episode_id: int
) -> EpisodeFacts | None:
    """The facts of an episode anyone may see; None when only the route can tell (not ready,
    not live, not found, a rendition missing from storage)."""
    with session_scope(factory) as db:
        episode = catalog.get_episode(db=db, episode_id=episode_id)
        if episode is None or episode.state != EpisodeState.ready:
            return None
        series = episode.series
        if not catalog.is_live(series) or episode.media_asset is None:
            return None
        try:
            asset = episode.media_asset
            master = protection.master_playlist(storage=storage, asset=asset, episode_id=episode_id)
            playlists = {
                name: protection.rendition_template(
                    storage=storage, asset=asset, episode_id=episode_id, rendition=name
                )
                for name in protection.rendition_names(asset)
            }
        except NotFound:
            return None
        return EpisodeFacts(
            number=episode.number,
            free_episodes=series.free_episodes,
            owner_id=series.owner_id,
            master=master,
            playlists=playlists,
        )


def holds_episode(*, factory: sessionmaker[Session], account_id: int, episode_id: int) -> bool:
    """Whether the account has unlocked the episode or holds a VIP pass now."""
    with session_scope(factory) as db:
        return has_unlock(db=db, account_id=account_id, episode_id=episode_id) or (
            has_active_vip(db=db, account_id=account_id, now=utcnow())
        )


def device_account_id(*, factory: sessionmaker[Session], device_token: str) -> int | None:
    with session_scope(factory) as db:
        return accounts.account_id_by_device(db=db, device_token=device_token)


def _cookies(scope: Scope) -> dict[str, str] | None:
    """The request's cookies; None when it carries a bearer token (the route's business)."""
    raw = b""
    for name, value in scope["headers"]:
        if name == b"authorization":
            return None
        if name == b"cookie":
            raw = value
    return cookie_parser(raw.decode("latin-1")) if raw else {}


class PlaylistFastPath:
    """ASGI middleware answering the gated playlists from cached facts when it can prove the
    viewer may play the episode; everything else goes on to the routes."""

    def __init__(self, app: ASGIApp, *, route: APIRoute, master_route: APIRoute) -> None:
        self.app = app
        # The routes' APIRoutes, so metrics label each answer as its route's.
        self.route = route
        self.master_route = master_route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            match = PLAYLIST_PATH.fullmatch(scope["path"])
            if match is not None:
                try:
                    body = await self._answer(scope, int(match[1]), match[2])
                except Exception:  # the route does it again, and reports what went wrong
                    body = None
                if body is not None:
                    scope["route"] = self.route if match[2] else self.master_route
                    await _send_playlist(send, body)
                    return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, episode_id: int, rendition: str | None) -> bytes | None:
        """The playlist's body (the master's when `rendition` is None), or None for the route."""
        cookies = _cookies(scope)
        if not cookies or SESSION_COOKIE in cookies:
            return None
        device_token = cookies.get(DEVICE_COOKIE)
        if not device_token or len(device_token) > 256:
            return None
        state = scope["app"].state
        factory: sessionmaker[Session] = state.sessionmaker
        settings: Settings = state.settings
        caches: GateCaches = state.gate_caches

        facts = await caches.facts.get_or_build(
            episode_id,
            lambda: episode_facts(factory=factory, storage=state.storage, episode_id=episode_id),
        )
        if facts is None or (rendition is not None and rendition not in facts.playlists):
            return None
        account_id = caches.devices.get(device_token)
        if account_id is None:
            account_id = await run_in_threadpool(
                device_account_id, factory=factory, device_token=device_token
            )
            if account_id is None:
                return None  # a device's first visit: the route makes its guest
            caches.devices.put(device_token, account_id)
        allowed = (
            facts.number <= facts.free_episodes
            or account_id == facts.owner_id
            or await run_in_threadpool(
                holds_episode, factory=factory, account_id=account_id, episode_id=episode_id
            )
        )
        if not allowed:
            return None  # the route answers 403 with the price to unlock
        if rendition is None:
            return facts.master.encode()
        text = facts.playlists[rendition].render(
            settings=settings, episode_id=episode_id, viewer_id=account_id
        )
        return text.encode()


async def _send_playlist(send: Send, body: bytes) -> None:
    headers = [*PLAYLIST_HEADERS, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@dataclass
class GateCaches:
    """The fast path's per-process caches (app.state.gate_caches)."""

    facts: TTLCache[EpisodeFacts | None]
    devices: TTLCache[int]

    @classmethod
    def new(cls) -> GateCaches:
        return cls(
            facts=TTLCache(ttl_seconds=FACTS_SECONDS, max_stale_seconds=0, max_entries=4096),
            devices=TTLCache(ttl_seconds=DEVICE_SECONDS, max_stale_seconds=0, max_entries=65536),
        )


def playlist_route(path: str = ROUTE_PATH) -> APIRoute:
    """The gated playlist's route (a rendition's, or `MASTER_ROUTE_PATH`), whose answers the
    fast path gives."""
    return next(
        route
        for route in hls_router.routes
        if isinstance(route, APIRoute) and route.path_format == path
    )
