"""The search page: a box that searches as the viewer types, filters, and poster cards.

The page inlines the answer to the query in its address (a shared or reloaded search paints
at once); js/search.js then asks `/api/search` as the viewer types and keeps the address in
step, so Back and reload return to the same search.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from microdrama.db import DbSession
from microdrama.discovery import search
from microdrama.discovery.routes import SearchParams
from microdrama.storage import AppStorage
from microdrama.web.routes import _known_viewer, _render, _viewer_summary

router = APIRouter(include_in_schema=False)


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    params: Annotated[SearchParams, Query()],
    db: DbSession,
    storage: AppStorage,
) -> Response:
    """Search as you type over titles, creators, tags, genres and synopses."""
    answer = search.search(
        db=db, storage=storage, text=params.q, filters=params.filters(), limit=params.limit
    )
    genres, languages = search.facets(db=db)
    context = {
        "params": params,
        "answer": answer.model_dump(mode="json"),
        "genres": genres,
        "languages": languages,
        "viewer": _viewer_summary(db, _known_viewer(request, db)),
    }
    return _render(request, "search.html", context)
