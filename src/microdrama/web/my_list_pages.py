"""The My list page: the viewer's followed series as posters, the one with the newest episode
first, a "new" badge on those with episodes the viewer has not seen (no script needed)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from microdrama.db import DbSession, utcnow
from microdrama.discovery import my_list
from microdrama.storage import AppStorage
from microdrama.web.routes import _known_viewer, _render, _viewer_summary

router = APIRouter(include_in_schema=False)

LIST_LIMIT = 200


@router.get("/my-list", response_class=HTMLResponse)
def my_list_page(request: Request, db: DbSession, storage: AppStorage) -> Response:
    """Followed series, newest episode first, each with its new-episode badge."""
    viewer = _known_viewer(request, db)
    entries = my_list.entries(db, viewer.id, storage=storage, limit=LIST_LIMIT) if viewer else []
    now = utcnow()
    context = {
        "entries": entries,
        "latest": {e.series_id: latest_wording(e.latest_episode_at, now) for e in entries},
        "viewer": _viewer_summary(db, viewer),
    }
    return _render(request, "my_list.html", context)


def latest_wording(at: datetime, now: datetime) -> str:
    """When the newest episode came out, as a poster says it: "Latest: today", "Latest: 3 days
    ago", "Latest: 2 Nov 2026"."""
    days = (now.date() - at.date()).days
    if days <= 0:
        return "Latest: today"
    if days == 1:
        return "Latest: yesterday"
    if days < 30:
        return f"Latest: {days} days ago"
    return f"Latest: {at.day} {at:%b %Y}"
