"""The My list API: the viewer's followed series, following and unfollowing one (guests too)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from microdrama.accounts.deps import CurrentViewer, known_viewer
from microdrama.db import DbSession
from microdrama.discovery import my_list
from microdrama.discovery.my_list_schemas import FollowState, MyList
from microdrama.storage import AppStorage
from microdrama.types import PathId

router = APIRouter(prefix="/api/my-list", tags=["discovery"])

# Each viewer's own list, changed by their taps: never kept by a cache.
PRIVATE = "private, no-store"


@router.get("", response_model=MyList)
def read_my_list(
    request: Request,
    response: Response,
    db: DbSession,
    storage: AppStorage,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> MyList:
    """The viewer's followed series, the one with the newest episode first, each with how many
    episodes are new since the viewer followed or last opened it. A browser that never
    followed anything gets an empty list (no guest account is made for asking)."""
    response.headers["Cache-Control"] = PRIVATE
    viewer = known_viewer(request, db)
    if viewer is None:
        return MyList(items=[], with_new_episodes=0)
    items = my_list.entries(db, viewer.id, storage=storage, limit=limit)
    return MyList(items=items, with_new_episodes=my_list.with_new_episodes(db, viewer.id))


@router.put("/{series_id}", response_model=FollowState)
def follow_series(
    series_id: PathId, response: Response, db: DbSession, viewer: CurrentViewer
) -> FollowState:
    """Follow a series (again: nothing changes). Its episodes out now count as seen; the next
    one brings the "new episode" badge. 404 for a series viewers cannot watch."""
    response.headers["Cache-Control"] = PRIVATE
    my_list.follow(db, viewer.id, series_id)
    return _state(db, viewer.id, series_id, following=True)


@router.delete("/{series_id}", response_model=FollowState)
def unfollow_series(
    series_id: PathId, response: Response, db: DbSession, viewer: CurrentViewer
) -> FollowState:
    """Stop following a series (not followed: nothing changes). 404 for a series that is
    neither followed nor one viewers can watch."""
    response.headers["Cache-Control"] = PRIVATE
    my_list.unfollow(db, viewer.id, series_id)
    return _state(db, viewer.id, series_id, following=False)


def _state(db: DbSession, account_id: int, series_id: int, *, following: bool) -> FollowState:
    return FollowState(
        series_id=series_id,
        following=following,
        with_new_episodes=my_list.with_new_episodes(db, account_id),
    )
