"""The Discover tab: every row of posters rendered in one response (no script needed; the
posters load lazily as a row scrolls into view)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from microdrama.cache import PublicCache
from microdrama.config import AppSettings
from microdrama.db import DbSession
from microdrama.discovery import discover, for_you
from microdrama.discovery.discover_schemas import DiscoverPage
from microdrama.storage import AppStorage
from microdrama.web.routes import _known_viewer, _render, _viewer_summary

router = APIRouter(include_in_schema=False)


@router.get("/discover", response_class=HTMLResponse)
def discover_page(
    request: Request, db: DbSession, storage: AppStorage, settings: AppSettings, cache: PublicCache
) -> Response:
    """Continue watching, For You, Because you watched …, Trending now, New releases, Most
    binged, Free to watch and a row per genre."""
    viewer = _known_viewer(request, db)
    key = discover.shared_key(discover.ROW_SIZE)
    shared = cache.get(key) or cache.put(key, discover.shared_json(db=db, storage=storage))
    page = discover.for_viewer(
        db=db,
        storage=storage,
        viewer=viewer,
        shared=DiscoverPage.model_validate_json(shared).rows,
        pools=for_you.cached_pools(db=db, cache=cache) if viewer else for_you.SharedPools(),
    )
    context = {
        "page": page,
        "viewer": _viewer_summary(db, viewer),
        "about_link": settings.environment == "development",
    }
    return _render(request, "discover.html", context)
