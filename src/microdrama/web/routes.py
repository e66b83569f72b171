"""The web app: server-rendered pages plus plain ES modules.

Each page inlines the JSON its first screen needs (the feed, the series, the viewer's progress)
so the poster and titles paint without waiting for an API round trip; the scripts then talk to
the JSON API like any other client.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import Scope

from microdrama.accounts.deps import CurrentViewer, ensure_device_token, known_viewer
from microdrama.accounts.models import Account
from microdrama.cache import PublicCache, TTLCache
from microdrama.catalog import service as catalog
from microdrama.catalog.models import Series
from microdrama.catalog.schemas import EpisodeRead, SeriesCard
from microdrama.config import AppSettings
from microdrama.db import DbSession, utcnow
from microdrama.demo.status import read_progress as read_demo_progress
from microdrama.discovery import experiments, for_you, my_list
from microdrama.errors import NotFound, http_error_answer, validation_error_answer
from microdrama.paywall import service as paywall
from microdrama.playback import service as playback
from microdrama.playback.schemas import ProgressRead
from microdrama.storage import AppStorage, Storage
from microdrama.templating import PAGE_CACHE, STATIC_DIR, render_page, templates
from microdrama.types import PathId
from microdrama.validation_messages import describe, summarize
from microdrama.wallet import viewer_coins

FEED_PAGE_SIZE = 10
CONTINUE_LIMIT = 6
# Static URLs carry a content hash (?v=...), so browsers may keep them for a year.
IMMUTABLE_CACHE = "public, max-age=31536000, immutable"
REVALIDATE_CACHE = "public, max-age=300"

router = APIRouter(include_in_schema=False)


def _known_viewer(request: Request, db: DbSession) -> Account | None:
    """The signed-in account, or the device's guest if it already exists; pages never create
    accounts."""
    return known_viewer(request, db)


def _viewer_summary(db: DbSession, viewer: Account | None) -> dict[str, Any]:
    """What every page's header and the player need to know about the viewer up front."""
    if viewer is None:
        return {
            "balance_coins": 0,
            "is_guest": True,
            "auto_unlock": False,
            "watch_reminder_minutes": None,
            "my_list_new": 0,
        }
    return {
        "balance_coins": viewer_coins.balances(db=db, account_id=viewer.id).total,
        "is_guest": viewer.is_guest,
        "auto_unlock": viewer.auto_unlock,
        "watch_reminder_minutes": viewer.watch_reminder_minutes,
        "role": viewer.role.value,
        # Followed series with episodes the viewer has not seen: the My list link's badge.
        "my_list_new": my_list.with_new_episodes(db, viewer.id),
    }


def _unlocked_episode_ids(db: DbSession, viewer: Account | None, series: Series) -> list[int]:
    """Paid episodes this viewer may play anyway (unlocked, VIP, owner): no lock on them."""
    if viewer is None:
        return []
    return [
        episode.id
        for episode in series.episodes
        if episode.number > series.free_episodes
        and paywall.entitlement(db=db, viewer=viewer, episode=episode).allowed
    ]


def _feed_items(
    db: DbSession, storage: Storage, cache: TTLCache[bytes], viewer: Account | None, offset: int = 0
) -> list[SeriesCard]:
    """A page of feed cards in the viewer's For You order (or an experiment's other arm)."""
    account_id = viewer.id if viewer else None
    experiment = experiments.cached_running(db=db, cache=cache)
    return for_you.feed_page(
        db=db,
        storage=storage,
        account_id=account_id,
        pools=for_you.cached_pools(db=db, cache=cache),
        limit=FEED_PAGE_SIZE,
        offset=offset,
        order=experiments.serve_order(db, experiment, account_id),
    )


def _following(db: DbSession, viewer: Account | None, items: list[SeriesCard]) -> set[int]:
    """Which of these series are on the viewer's My list (their follow buttons start pressed)."""
    if viewer is None:
        return set()
    return my_list.followed_ids(db, viewer.id, [item.id for item in items])


def _render(
    request: Request, template: str, context: dict[str, Any], status_code: int = 200
) -> HTMLResponse:
    response = templates.TemplateResponse(
        request, template, context, status_code=status_code, headers={"Cache-Control": PAGE_CACHE}
    )
    # The first parallel API calls of a new device then share one guest account.
    ensure_device_token(request, response)
    return response


def _not_found(request: Request, message: str) -> HTMLResponse:
    return _render(request, "not_found.html", {"message": message}, status_code=404)


@router.get("/", response_class=HTMLResponse)
def feed_page(
    request: Request, db: DbSession, storage: AppStorage, settings: AppSettings, cache: PublicCache
) -> Response:
    """The vertical swipe feed in the viewer's For You order, with their continue-watching row
    on top."""
    viewer = _known_viewer(request, db)
    items = _feed_items(db, storage, cache, viewer)
    resume = (
        playback.continue_watching(db=db, storage=storage, viewer=viewer, limit=CONTINUE_LIMIT)
        if viewer
        else []
    )
    first = items[0] if items else None
    context = {
        "items": items,
        "page_size": FEED_PAGE_SIZE,
        "first": first,
        "continue_watching": resume,
        "following": _following(db, viewer, items),
        "viewer": _viewer_summary(db, viewer),
        "demo": read_demo_progress(settings.data_dir),
        "about_link": settings.shows_demo_logins,  # /about lists the demo logins
    }
    return _render(request, "feed.html", context)


@router.get("/fragments/continue-watching", response_class=HTMLResponse)
def continue_fragment(
    request: Request, db: DbSession, storage: AppStorage, viewer: CurrentViewer
) -> Response:
    """The continue-watching row, refreshed after load: the position saved as the viewer left
    the player (a beacon on pagehide) can arrive after the feed page itself was rendered."""
    resume = playback.continue_watching(db=db, storage=storage, viewer=viewer, limit=CONTINUE_LIMIT)
    return templates.TemplateResponse(
        request,
        "continue_row.html",
        {"continue_watching": resume},
        headers={"Cache-Control": PAGE_CACHE},
    )


@router.get("/fragments/feed", response_class=HTMLResponse)
def feed_fragment(
    request: Request,
    db: DbSession,
    storage: AppStorage,
    cache: PublicCache,
    offset: Annotated[int, Query(ge=0, le=10_000)] = 0,
) -> Response:
    """The next page of feed cards as HTML, rendered by the same macro as the first page."""
    viewer = _known_viewer(request, db)
    items = _feed_items(db, storage, cache, viewer, offset)
    return templates.TemplateResponse(
        request,
        "feed_cards.html",
        {"items": items, "offset": offset, "following": _following(db, viewer, items)},
        # The viewer's own order.
        headers={"Cache-Control": "private, max-age=5", "Vary": "Cookie"},
    )


@router.get("/series/{series_id}", response_class=HTMLResponse)
def series_page(
    series_id: PathId, request: Request, db: DbSession, storage: AppStorage
) -> Response:
    """Poster, synopsis, runtime and the episode grid with the viewer's watched state."""
    viewer = _known_viewer(request, db)
    try:
        series = catalog.get_visible(db=db, series_id=series_id, viewer=viewer)
    except NotFound:
        return _not_found(request, "This series does not exist or is not published yet.")
    if viewer is not None:
        my_list.mark_seen(db, viewer.id, series_id)  # opened: its new-episode badge clears
    read = catalog.series_read(storage=storage, series=series)
    progress = playback.series_progress(db=db, viewer=viewer, series_id=series_id) if viewer else []
    by_episode = {p.episode_id: p for p in progress}
    resume = _resume_point(read.episodes, by_episode)
    context = {
        "series": read,
        "progress": by_episode,
        "resume": resume,
        "unlocked": set(_unlocked_episode_ids(db, viewer, series)),
        "following": viewer is not None and my_list.is_following(db, viewer.id, series_id),
        "viewer": _viewer_summary(db, viewer),
    }
    return _render(request, "series.html", context)


@router.get("/watch/{episode_id}", response_class=HTMLResponse)
def watch_page(
    episode_id: PathId,
    request: Request,
    db: DbSession,
    storage: AppStorage,
    t: float | None = None,
) -> Response:
    """The binge player, opened on one episode (at second `t`, or where the viewer left it)."""
    viewer = _known_viewer(request, db)
    try:
        episode = catalog.episode_read(db=db, storage=storage, episode_id=episode_id, viewer=viewer)
        series = catalog.get_visible(db=db, series_id=episode.series_id, viewer=viewer)
    except NotFound:
        return _not_found(request, "This episode does not exist or is not available.")
    if viewer is not None:
        my_list.mark_seen(db, viewer.id, series.id)  # opened: its new-episode badge clears
    read = catalog.series_read(storage=storage, series=series)
    progress = playback.series_progress(db=db, viewer=viewer, series_id=read.id) if viewer else []
    explicit_start = t is not None
    if t is None:
        saved = next((p for p in progress if p.episode_id == episode_id), None)
        near_end = saved is not None and saved.position_ms > episode.duration_ms - 3000
        t = saved.position_ms / 1000 if saved and not saved.completed and not near_end else 0.0
    data = {
        "series": read.model_dump(),
        "episode_id": episode_id,
        "start_seconds": max(0.0, min(t, episode.duration_ms / 1000)),
        "explicit_start": explicit_start,
        "progress": [p.model_dump() for p in progress],
        "unlocked_episode_ids": _unlocked_episode_ids(db, viewer, series),
        "following": viewer is not None and my_list.is_following(db, viewer.id, series.id),
        "viewer": _viewer_summary(db, viewer),
    }
    context = {"data": data, "series": read, "episode": episode, "viewer": data["viewer"]}
    return _render(request, "watch.html", context)


@router.get("/wallet", response_class=HTMLResponse)
def wallet_page(request: Request, db: DbSession) -> Response:
    """Balance, coin packs, VIP, the daily check-in and the complete history (filled in by
    wallet.js from the wallet API, so a purchase or check-in refreshes it in place)."""
    viewer = _known_viewer(request, db)
    # The button's state comes from the server: it belongs to the account, not the device.
    checkin = (
        viewer_coins.checkin_state(db=db, account_id=viewer.id, today=utcnow().date())
        if viewer is not None
        else None
    )
    context = {"viewer": _viewer_summary(db, viewer), "checkin": checkin}
    return _render(request, "wallet.html", context)


def _resume_point(
    episodes: list[EpisodeRead], progress: dict[int, ProgressRead]
) -> dict[str, Any] | None:
    """Where the series page's main button should start: the first unfinished episode."""
    if not episodes:
        return None
    if not progress:
        return {"episode": episodes[0], "label": "Watch from episode 1"}
    for episode in episodes:
        saved = progress.get(episode.id)
        if saved is None or not saved.completed:
            verb = "Continue" if saved else "Play"
            return {"episode": episode, "label": f"{verb} episode {episode.number}"}
    return {"episode": episodes[0], "label": "Watch again from episode 1"}


class CachedStaticFiles(StaticFiles):
    """Static files with cache headers: versioned URLs are immutable, the rest revalidate."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            versioned = b"v=" in scope.get("query_string", b"")
            response.headers["Cache-Control"] = IMMUTABLE_CACHE if versioned else REVALIDATE_CACHE
        return response


def install_page_errors(app: FastAPI) -> None:
    """A browser that opens an unknown address gets the site's own "Nothing here" page; API
    clients (and anything not asking for HTML) keep the JSON error shape."""

    def wants_page(request: Request) -> bool:
        return (
            request.method == "GET"
            and "text/html" in request.headers.get("accept", "")
            and not request.url.path.startswith(("/api/", "/media/", "/static/"))
        )

    def nothing_here(request: Request) -> Response:
        message = "There is nothing at this address."
        return render_page(request, "not_found.html", {"message": message}, status_code=404)

    @app.exception_handler(StarletteHTTPException)
    async def _page_or_json(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and wants_page(request):
            return nothing_here(request)
        return http_error_answer(exc)

    @app.exception_handler(NotFound)
    async def _page_or_not_found(request: Request, exc: NotFound) -> Response:
        if wants_page(request):
            return nothing_here(request)
        return JSONResponse(exc.as_json(), status_code=exc.status_code)

    # A page address with an id that cannot exist (/series/abc, /watch/99999999999999999999)
    # is nothing; a page asked with a bad query (/search?q= holding a control character) says
    # what was wrong with it.
    @app.exception_handler(RequestValidationError)
    async def _page_or_422(request: Request, exc: RequestValidationError) -> Response:
        if not wants_page(request):
            return validation_error_answer(exc)
        errors = exc.errors()
        if any(tuple(err.get("loc", ()))[:1] == ("path",) for err in errors):
            return nothing_here(request)
        message = summarize([describe(err) for err in errors])
        context = {"heading": "This page can't be shown", "message": message}
        return render_page(request, "not_found.html", context, status_code=422)


def mount_static(app: FastAPI) -> None:
    STATIC_DIR.mkdir(exist_ok=True)
    # hls.min.js is 600 kB raw and about 190 kB gzipped: compress text assets on the way out.
    static = GZipMiddleware(CachedStaticFiles(directory=STATIC_DIR), minimum_size=1024)
    app.mount("/static", static, name="static")
