"""Search's answers: the series found, each a feed card with what a result list shows more."""

from __future__ import annotations

from pydantic import BaseModel, Field

from microdrama.catalog.schemas import SeriesCard


class SearchHit(SeriesCard):
    language: str
    creator: str = Field(description="The creator's display name.")
    complete: bool = Field(
        description="Every episode of the series is out (none transcoding, in review or refused)."
    )
    viewers_last_week: int = Field(
        description="Distinct viewers who played an episode in the last 7 days."
    )
    relevance: float | None = Field(
        description="How well it answers the query (about 0.35 to 1.1); null without a query."
    )


class SearchAnswer(BaseModel):
    query: str = Field(description="The query as received, without surrounding spaces.")
    items: list[SearchHit] = Field(description="Best first: relevance, then popularity.")
    suggestions: list[SearchHit] = Field(
        default_factory=list,
        description="When nothing matches: popular series to show instead.",
    )
    message: str | None = Field(
        default=None,
        description="For people, when there are no items: what to type, or what to change.",
    )
