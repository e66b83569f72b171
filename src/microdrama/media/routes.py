"""Media API: upload sources, follow transcode jobs; and the static delivery of renditions."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

router = APIRouter(prefix="/api", tags=["media"])


def mount_media(app: FastAPI) -> None:
    """Serve the local storage folder under the media URL prefix."""
    settings = app.state.settings
    app.mount(settings.media_url_prefix, StaticFiles(directory=settings.media_dir), name="media")
