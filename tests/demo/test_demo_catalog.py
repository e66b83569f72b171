"""The demo is a catalog worth discovering: two dozen series in several genres and languages,
and a simulated audience whose views, unlocks and follows discovery can rank and learn from."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from microdrama.analytics.models import EpisodeView, PlaybackEvent
from microdrama.config import Settings
from microdrama.db import utcnow
from microdrama.demo.catalog import DEMO_SERIES, DEMO_SHORT_SERIES
from microdrama.demo.clips import CARD_WORDS, LOOKS, ClipSpec, captions
from microdrama.demo.seed import FULL_DEMO_SERIES, SHORT_SECONDS, SeedResult, seed_demo
from microdrama.discovery.models import RankingEntry, Recommendation, SeriesFollow
from microdrama.paywall.models import Unlock
from microdrama.wallet import ledger

THE_FULL_DEMO = (*DEMO_SERIES[:FULL_DEMO_SERIES], *DEMO_SHORT_SERIES)


def test_the_full_demo_has_two_dozen_series_in_six_genres_and_two_languages() -> None:
    titles = [series.title for series in THE_FULL_DEMO]

    assert len(titles) >= 24 and len(set(titles)) == len(titles)
    assert len({series.genre for series in THE_FULL_DEMO}) >= 6
    assert len({series.language for series in THE_FULL_DEMO}) >= 2
    assert "The Vampire Billionaire's Bride" in titles  # the search example of issue 14
    assert any(not title.isascii() for title in titles)  # accents to be ignored by search
    for series in DEMO_SHORT_SERIES:
        assert 2 <= len(series.episodes) <= 4, series.title
        assert 1 <= series.free_episodes < len(series.episodes), series.title  # a paywall
        assert series.tags and series.synopsis and series.look in LOOKS
        assert series.language in CARD_WORDS and 0 < series.appeal <= 1
        series.create_data()  # valid as the catalog takes it


def test_a_clip_adds_its_own_words_in_the_series_language() -> None:
    spec = ClipSpec(
        series_title="Café con Mi Jefe Millonario",
        episode_number=2,
        episode_title="El Trato",
        dialogue="Finja ser mi novia hasta Navidad.",
        look="sunny",
        language="es",
    )

    texts = {name: caption.text for name, caption in captions(spec).items()}

    assert texts["episode"].startswith("EPISODIO 2")
    assert texts["tbc"] == "Continuará…"
    assert texts["next"] == "Sigue el episodio 3"


@pytest.mark.slow
def test_the_full_demo_plans_the_short_series_after_the_full_ones(settings: Settings) -> None:
    stopped = threading.Event()
    stopped.set()  # plan only: nothing is rendered past the renders already started

    result = seed_demo(
        settings=settings, seconds=2.0, width=180, height=320, transcode_workers=0, stop=stopped
    )

    assert [s.title for s in result.series] == [s.title for s in THE_FULL_DEMO]
    assert result.stopped and result.audience is None
    short = result.series[FULL_DEMO_SERIES:]
    assert {s.language for s in short} >= {"en", "es", "pt"}
    assert all(s.released_days_ago > 0 for s in short)


@pytest.mark.slow
def test_a_small_audience_watches_unlocks_and_follows_and_the_ledger_verifies(
    client: TestClient, settings: Settings, db: Session
) -> None:
    def seed() -> SeedResult:
        return seed_demo(
            settings=settings,
            series_count=1,
            episodes_per_series=1,
            seconds=2.0,
            width=180,
            height=320,
            short_series=2,
            audience_viewers=40,
            transcode_workers=2,
        )

    result = seed()

    assert result.ok and [s.outcome for s in result.series] == ["published"] * 3
    audience = result.audience
    assert audience is not None and audience.viewers == audience.new_viewers == 40
    assert audience.views > 0 and audience.completions > 0
    assert audience.unlocks > 0 and audience.follows > 0
    # What they did is stored as the app stores it, and already in the rollup.
    assert db.scalar(select(func.count()).select_from(PlaybackEvent)) == audience.events
    views = db.scalar(select(func.count()).select_from(EpisodeView).where(EpisodeView.played))
    completed = db.scalar(
        select(func.count()).select_from(EpisodeView).where(EpisodeView.completed)
    )
    assert views and completed  # (a view resumed in the same session is one row)
    assert db.scalar(select(func.count()).select_from(Unlock)) == audience.unlocks
    assert db.scalar(select(func.count()).select_from(SeriesFollow)) == audience.follows
    assert ledger.verify(db=db) == []
    # The charts and For You are computed from them once, so they show on the first run.
    assert db.scalar(select(func.count()).select_from(RankingEntry))
    assert db.scalar(select(func.count()).select_from(Recommendation))
    # Spread over the last two weeks, never before a series came out.
    oldest = db.scalar(select(func.min(EpisodeView.started_at)))
    assert oldest is not None and oldest >= utcnow() - timedelta(days=14, minutes=1)
    # The short series: a few seconds each, in their own language, dated back.
    cafe = client.get(f"/api/series/{result.series[2].series_id}").json()
    assert cafe["title"] == "Café con Mi Jefe Millonario" and cafe["language"] == "es"
    assert len(cafe["episodes"]) == 3
    for episode in cafe["episodes"]:
        assert episode["duration_ms"] == pytest.approx(SHORT_SECONDS * 1000, abs=300)

    again = seed()  # a rerun adds nothing

    assert again.clips_rendered == 0 and again.audience is not None
    assert again.audience.new_viewers == 0 and again.audience.events == 0
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(PlaybackEvent)) == audience.events
    assert db.scalar(select(func.count()).select_from(Unlock)) == audience.unlocks
    assert db.scalar(select(func.count()).select_from(SeriesFollow)) == audience.follows
    assert ledger.verify(db=db) == []
