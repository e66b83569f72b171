"""The search API: series as you type, with filters (discovery/search.py does the work)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from microdrama.db import DbSession
from microdrama.discovery import search
from microdrama.discovery.search_schemas import SearchAnswer
from microdrama.storage import AppStorage
from microdrama.types import Line

router = APIRouter(prefix="/api", tags=["discovery"])

# The same answer for everyone: a shared cache may keep it a few seconds.
PUBLIC_CACHE = "public, max-age=5"


class SearchParams(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    q: Annotated[Line, Field(max_length=100)] = Field(
        default="",
        description="What the viewer typed: words of a title, a creator, a tag, a genre or the "
        "synopsis, in any order, typos and accents forgiven. Empty with no filter: no items, "
        "popular series as suggestions and a message saying what to type (never an error).",
    )
    genre: Annotated[Line, Field(max_length=60)] = Field(
        default="", description="Only series of this genre (any case)."
    )
    language: Annotated[Line, Field(max_length=16)] = Field(
        default="", description="Only series in this language (its code: en, es...)."
    )
    free: bool = Field(default=False, description="Only series with free episodes.")
    complete: bool = Field(
        default=False,
        description="Only series whose every episode is out (none still to be released).",
    )
    limit: int = Field(default=20, ge=1, le=50)

    def filters(self) -> search.Filters:
        return search.Filters(
            genre=self.genre or None,
            language=self.language or None,
            free_only=self.free,
            complete_only=self.complete,
        )


@router.get("/search", response_model=SearchAnswer)
def search_series(
    params: Annotated[SearchParams, Query()],
    db: DbSession,
    storage: AppStorage,
    response: Response,
) -> SearchAnswer:
    """Published series answering the query, best first (relevance, then viewers of the last
    7 days); with only filters, the filtered catalog by popularity. When nothing matches:
    no items, popular series as `suggestions` and a `message` saying what to change."""
    response.headers["Cache-Control"] = PUBLIC_CACHE
    return search.search(
        db=db, storage=storage, text=params.q, filters=params.filters(), limit=params.limit
    )
