"""The web app: server-rendered pages plus plain ES modules."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

WEB_DIR = Path(__file__).parent
router = APIRouter(include_in_schema=False)


def mount_static(app: FastAPI) -> None:
    (WEB_DIR / "static").mkdir(exist_ok=True)
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
