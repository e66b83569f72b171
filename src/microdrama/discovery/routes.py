"""The search API: series as you type, with filters (discovery/search.py does the work).

The answer is the same for everyone, so each process keeps the answers to the queries asked
in its public cache for ANSWER_SECONDS (a popular query is searched once per process in that
time; a series published or edited in the studio clears the cache): a search at 10,000
series costs tens of milliseconds, a cached answer a dict lookup (bench/api.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from microdrama.cache import public_cache
from microdrama.db import session_factory, session_scope
from microdrama.discovery import search
from microdrama.discovery.search_schemas import SearchAnswer
from microdrama.storage import app_storage
from microdrama.types import Line

router = APIRouter(prefix="/api", tags=["discovery"])

# The same answer for everyone: a shared cache may keep it a few seconds.
PUBLIC_CACHE = "public, max-age=5"
# How long a process answers a query from its cache (a new series shows within this).
ANSWER_SECONDS = 30.0


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
async def search_series(params: Annotated[SearchParams, Query()], request: Request) -> Response:
    """Published series answering the query, best first (relevance, then viewers of the last
    7 days); with only filters, the filtered catalog by popularity. When nothing matches:
    no items, popular series as `suggestions` and a `message` saying what to change."""
    # The providers are called, not declared as dependencies (as the feed does): a cached
    # answer then costs no thread hop and no database session.
    factory, storage, cache = session_factory(request), app_storage(request), public_cache(request)
    key = (
        "search",
        params.q,
        params.genre.lower(),
        params.language.lower(),
        params.free,
        params.complete,
        params.limit,
    )

    def build() -> bytes:
        with session_scope(factory) as db:
            answer = search.search(
                db=db, storage=storage, text=params.q, filters=params.filters(), limit=params.limit
            )
            return answer.model_dump_json().encode()

    body = await cache.get_or_build(key, build, ttl_seconds=ANSWER_SECONDS)
    return Response(body, media_type="application/json", headers={"Cache-Control": PUBLIC_CACHE})
