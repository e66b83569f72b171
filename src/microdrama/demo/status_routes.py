"""`GET /api/demo/progress`: how far the demo seed has got, polled by the feed while it runs."""

from __future__ import annotations

from fastapi import APIRouter, Response

from microdrama.config import AppSettings
from microdrama.demo.status import DemoProgressRead, read_progress

router = APIRouter(tags=["demo"])


@router.get("/api/demo/progress", response_model=DemoProgressRead)
def demo_progress(response: Response, settings: AppSettings) -> DemoProgressRead:
    """Episodes ready of the demo being prepared; `preparing` is false when no seed runs."""
    response.headers["Cache-Control"] = "no-store"  # polled for changes every few seconds
    return read_progress(settings.data_dir)
