"""Writers'-room pages: the creator's projects with the "New series" form, and one project's
bible, arc timeline, cards, scripts and history. static/js/writers_room.js drives both."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from microdrama.accounts.deps import page_account
from microdrama.accounts.models import Account, Role
from microdrama.ai import writers_room as room
from microdrama.ai.beats import (
    BEAT_LABELS,
    MAX_EPISODE_SECONDS,
    MAX_EPISODES,
    MIN_EPISODE_SECONDS,
    MIN_EPISODES,
    trope_choices,
)
from microdrama.db import DbSession
from microdrama.errors import NotFound
from microdrama.templating import templates
from microdrama.types import PathId

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "private, no-store"}


def _page(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
    return templates.TemplateResponse(
        request, template, context, status_code=status, headers=NO_STORE
    )


def _is_creator(account: Account) -> bool:
    return account.role in {Role.creator, Role.admin}


@router.get("/studio/writers-room", response_class=HTMLResponse)
def writers_room_home(request: Request, db: DbSession) -> Response:
    """The creator's projects and the form for a new series."""
    account = page_account(request, db)
    if isinstance(account, Response):
        return account
    projects = (
        [room.project_summary(p) for p in room.list_projects(db=db, owner=account)]
        if _is_creator(account)
        else []
    )
    return _page(
        request,
        "writers_room.html",
        {
            "account": account,
            "is_creator": _is_creator(account),
            "projects": projects,
            "tropes": trope_choices(),
            "limits": {
                "min_episodes": MIN_EPISODES,
                "max_episodes": MAX_EPISODES,
                "min_seconds": MIN_EPISODE_SECONDS,
                "max_seconds": MAX_EPISODE_SECONDS,
            },
        },
    )


@router.get("/studio/writers-room/{project_id}", response_class=HTMLResponse)
def writers_room_project(project_id: PathId, request: Request, db: DbSession) -> Response:
    """One project: edit any part, regenerate it, see its history, get scripts, create the
    series. `?episode=N&rewrite=cliffhanger` opens on that card's ending."""
    account = page_account(request, db)
    if isinstance(account, Response):
        return account
    try:
        project = room.get_own_project(db=db, project_id=project_id, account=account)
    except NotFound:
        return _page(
            request,
            "not_found.html",
            {"message": "No such project in your writers' room."},
            status=404,
        )
    read = room.project_read(db=db, project=project)
    focus = request.query_params.get("episode", "")
    episode = int(focus) if focus.isdigit() and 1 <= int(focus) <= project.episode_count else None
    rewrite = request.query_params.get("rewrite") == "cliffhanger" and episode is not None
    beats_at = {b.episode: b for b in read.arc.beats}
    return _page(
        request,
        "writers_room_project.html",
        {
            "account": account,
            "project": read,
            "beats_at": beats_at,
            "beat_labels": {k.value: v for k, v in BEAT_LABELS.items()},
            "focus_episode": episode,
            "rewrite": rewrite,
            "data": {
                "project_id": read.id,
                "focus_episode": episode,
                "rewrite": rewrite,
                "scripts": read.scripts,
            },
        },
    )
