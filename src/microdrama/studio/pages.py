"""Studio pages: my series, a series' edit page with uploads, and the admin moderation queue.

The pages inline the JSON their first screen needs; static/js/studio.js then talks to the
studio API (and polls it while transcodes run)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from microdrama.accounts.deps import page_account
from microdrama.accounts.models import Account, Role
from microdrama.db import DbSession
from microdrama.errors import NotFound
from microdrama.storage import AppStorage
from microdrama.studio import review, service
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


@router.get("/studio", response_class=HTMLResponse)
def studio_home(request: Request, db: DbSession, storage: AppStorage) -> Response:
    """My series with their status badges (or an invitation to open a studio)."""
    account = page_account(request, db)
    if isinstance(account, Response):
        return account
    series = []
    if _is_creator(account):
        series = [
            service.series_read(storage=storage, series=s)
            for s in service.list_own_series(db=db, owner=account)
        ]
    return _page(
        request,
        "studio_home.html",
        {"account": account, "is_creator": _is_creator(account), "series": series},
    )


@router.get("/studio/series/new", response_class=HTMLResponse)
def new_series(request: Request, db: DbSession) -> Response:
    """The form for a new series."""
    account = page_account(request, db)
    if isinstance(account, Response):
        return account
    if not _is_creator(account):
        return RedirectResponse("/studio", status_code=303)
    return _page(request, "studio_series.html", {"account": account, "series": None})


@router.get("/studio/series/{series_id}", response_class=HTMLResponse)
def edit_series(
    series_id: PathId, request: Request, db: DbSession, storage: AppStorage
) -> Response:
    """Edit form, poster, uploads, episodes with their transcode state, review."""
    account = page_account(request, db)
    if isinstance(account, Response):
        return account
    try:
        series = service.get_own_series(db=db, series_id=series_id, account=account)
    except NotFound:
        return _page(
            request, "not_found.html", {"message": "No such series in your studio."}, status=404
        )
    read = service.series_read(storage=storage, series=series)
    return _page(
        request,
        "studio_series.html",
        {"account": account, "series": read, "series_json": read.model_dump(mode="json")},
    )


@router.get("/admin/moderation", response_class=HTMLResponse)
def moderation(request: Request, db: DbSession, storage: AppStorage) -> Response:
    """The review queue: series (approve now, schedule, or reject with a reason), then published
    series' new episodes and videos (approve or reject)."""
    account = page_account(request, db, Role.admin, refusal="Only operators can moderate series.")
    if isinstance(account, Response):
        return account
    queue = review.moderation_queue(db=db, storage=storage)
    episodes = review.episode_review_queue(db=db, storage=storage)
    return _page(
        request,
        "admin_moderation.html",
        {
            "account": account,
            "queue": queue,
            "episode_queue": episodes,
            "queue_json": [q.model_dump(mode="json") for q in queue],
        },
    )
