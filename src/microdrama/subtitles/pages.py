"""The subtitle editor page of the studio: /studio/episodes/{id}/subtitles (the creator's)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from microdrama.accounts.deps import page_account
from microdrama.accounts.models import Role
from microdrama.catalog import service as catalog
from microdrama.db import DbSession
from microdrama.errors import NotFound
from microdrama.storage import AppStorage
from microdrama.subtitles import service
from microdrama.templating import render_page as render
from microdrama.types import PathId

router = APIRouter(include_in_schema=False)


@router.get("/studio/episodes/{episode_id}/subtitles", response_class=HTMLResponse)
def subtitle_editor(
    episode_id: PathId, request: Request, db: DbSession, storage: AppStorage
) -> Response:
    """Upload WebVTT/SRT per language, edit cues beside a preview of the episode."""
    account = page_account(request, db, Role.creator)
    if isinstance(account, Response):
        return account
    try:
        episode = service.editable_episode(db=db, episode_id=episode_id, account=account)
    except NotFound:
        return render(request, "not_found.html", {"message": "No such episode."}, status_code=404)
    series = catalog.get(db=db, series_id=episode.series_id)
    try:
        playable = catalog.episode_read(
            db=db, storage=storage, episode_id=episode.id, viewer=account
        )
        playlist_url = playable.playlist_url
    except NotFound:
        playlist_url = None  # still transcoding: cues can be edited, the preview waits
    context = {
        "account": account,
        "episode": episode,
        "series": series,
        "editor": {
            "episode_id": episode.id,
            "playlist_url": playlist_url,
            "duration_ms": episode.duration_ms,
            "default_language": series.language if series else "en",
        },
    }
    return render(request, "subtitles_editor.html", context)
