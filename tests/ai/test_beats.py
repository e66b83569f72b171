"""The beat engine: every season it plans has its beats in story order, the strongest ending on
the last free episode, varied cliffhangers, and the same plan for the same seed."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microdrama.ai.beats import (
    MAX_EPISODES,
    MIN_EPISODES,
    STORY_ORDER,
    TEMPLATES,
    BeatKind,
    CliffhangerKind,
    InvalidSeasonShape,
    SeasonSkeleton,
    Trope,
    build_skeleton,
)


@st.composite
def seasons(draw: st.DrawFn) -> SeasonSkeleton:
    episodes = draw(st.integers(MIN_EPISODES, MAX_EPISODES))
    free = draw(st.integers(3, episodes - 3))
    return build_skeleton(
        trope=draw(st.sampled_from(list(Trope))),
        episode_count=episodes,
        free_episodes=free,
        episode_seconds=draw(st.integers(60, 120)),
        seed=draw(st.integers(0, 2**31 - 1)),
    )


@settings(max_examples=150, deadline=None)
@given(seasons())
def test_every_season_has_its_beats_in_order_and_the_paywall_on_the_last_free_episode(
    season: SeasonSkeleton,
) -> None:
    at = {b.kind: b.episode for b in season.beats if b.kind != BeatKind.escalation}
    story = [at[kind] for kind in STORY_ORDER]
    assert story == sorted(story) and len(set(story)) == len(story)
    assert at[BeatKind.hook] == 1
    assert at[BeatKind.resolution] == season.episode_count
    assert at[BeatKind.climax] == season.episode_count - 1
    assert at[BeatKind.paywall_cliffhanger] == season.free_episodes
    assert at[BeatKind.inciting_incident] < season.free_episodes < at[BeatKind.dark_moment]
    # One beat per episode at most, every beat on a card that says so.
    assert len({b.episode for b in season.beats}) == len(season.beats)
    for beat in season.beats:
        assert season.cards[beat.episode - 1].beat == beat.kind
    assert [c.number for c in season.cards] == list(range(1, season.episode_count + 1))
    assert [c.is_free for c in season.cards] == [
        n <= season.free_episodes for n in range(1, season.episode_count + 1)
    ]


@settings(max_examples=150, deadline=None)
@given(seasons())
def test_the_paywall_ending_is_the_season_strongest_and_a_reveal(season: SeasonSkeleton) -> None:
    paywall = season.cards[season.free_episodes - 1]
    assert paywall.cliffhanger_kind == CliffhangerKind.reveal
    assert all(c.intensity < paywall.intensity for c in season.cards if c is not paywall)
    # The biggest reveal of the trope's template is the paywall's.
    assert paywall.event == TEMPLATES[season.trope].reveals[-1].format(**season.names())


@settings(max_examples=150, deadline=None)
@given(seasons())
def test_cliffhangers_vary(season: SeasonSkeleton) -> None:
    kinds = [c.cliffhanger_kind for c in season.cards]
    for i in range(len(kinds) - 2):
        assert len(set(kinds[i : i + 3])) > 1, f"three {kinds[i]} endings from episode {i + 1}"
    # The episode before the paywall does not spend a reveal.
    assert kinds[season.free_episodes - 2] != CliffhangerKind.reveal
    counts = Counter(kinds)
    assert all(counts[k] >= season.episode_count // 8 for k in CliffhangerKind)


def test_the_same_seed_gives_the_same_season_and_another_seed_another() -> None:
    def plan(seed: int) -> SeasonSkeleton:
        return build_skeleton(
            trope=Trope.werewolf_mate,
            episode_count=40,
            free_episodes=10,
            episode_seconds=90,
            seed=seed,
        )

    assert plan(7) == plan(7)
    assert plan(7) != plan(8)


def test_long_seasons_turn_the_screw_more_often() -> None:
    def escalations(episodes: int) -> int:
        season = build_skeleton(
            trope=Trope.revenge,
            episode_count=episodes,
            free_episodes=10,
            episode_seconds=90,
            seed=1,
        )
        return sum(b.kind == BeatKind.escalation for b in season.beats)

    assert escalations(20) >= 2
    assert escalations(80) > escalations(30) > 0


@pytest.mark.parametrize(
    ("episodes", "free", "seconds", "words"),
    [
        (5, 3, 90, "20 to 80 episodes"),
        (500, 10, 90, "20 to 80 episodes"),
        (30, 30, 90, "nothing is paid"),
        (30, 2, 90, "at least 3 free episodes"),
        (30, 28, 90, "at most 27 free episodes"),
        (30, 8, 30, "60 to 120 seconds"),
    ],
)
def test_a_season_out_of_shape_is_refused_with_a_reason(
    episodes: int, free: int, seconds: int, words: str
) -> None:
    with pytest.raises(InvalidSeasonShape, match=words):
        build_skeleton(
            trope=Trope.revenge,
            episode_count=episodes,
            free_episodes=free,
            episode_seconds=seconds,
            seed=1,
        )


def test_every_trope_template_casts_five_roles_and_names_them_in_its_wording() -> None:
    for trope, template in TEMPLATES.items():
        season = build_skeleton(
            trope=trope, episode_count=20, free_episodes=5, episode_seconds=60, seed=3
        )
        assert [c.key for c in season.characters] == ["lead", "love", "rival", "ally", "villain"]
        names = season.names()
        assert names["lead"] in season.logline
        assert "{" not in season.logline
        assert all("{" not in c.event for c in season.cards)
        assert len(template.reveals) >= 4
