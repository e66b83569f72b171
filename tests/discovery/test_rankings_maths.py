"""The rankings' maths on fixed rows, no database: decay, the daily and weekly windows, binge
depth, the rising floor, genre charts, ties and the change of rank."""

from __future__ import annotations

import pytest

from microdrama.discovery import ranking_maths as maths
from microdrama.discovery.models import ChartPeriod
from microdrama.discovery.ranking_maths import Binge, Growth, HourActivity, Move, Score, Tally

DAILY, WEEKLY = ChartPeriod.daily, ChartPeriod.weekly


def _order(scores: list[Score], genre_of: dict[int, str] | None = None) -> list[int]:
    genre_of = genre_of or {s.series_id: "drama" for s in scores}
    return [p.series_id for p in maths.places(scores, genre_of) if p.genre == ""]


def _by_id(scores: list[Score]) -> dict[int, float]:
    return {s.series_id: s.score for s in scores}


# -- trending -------------------------------------------------------------------------------


def test_an_hour_weighs_half_as_much_every_half_life_back() -> None:
    assert maths.decay(0, DAILY) / maths.decay(6, DAILY) == pytest.approx(2.0)
    assert maths.decay(0, WEEKLY) / maths.decay(48, WEEKLY) == pytest.approx(2.0)
    assert maths.decay(0, DAILY) == pytest.approx(0.5 ** (0.5 / 6))


def test_the_same_viewers_count_for_more_the_more_recent_they_are() -> None:
    rows = [HourActivity(1, hours_ago=1, viewers=10, completers=5)]
    rows += [HourActivity(2, hours_ago=13, viewers=10, completers=5)]

    scores = _by_id(maths.trending(rows, DAILY))

    assert scores[1] == pytest.approx(15 * maths.decay(1, DAILY), abs=1e-6)
    assert scores[1] / scores[2] == pytest.approx(4.0, rel=1e-5)  # two half-lives apart
    assert _order(maths.trending(rows, DAILY)) == [1, 2]


def test_a_fresh_burst_beats_a_bigger_audience_from_yesterday_on_the_daily_chart_only() -> None:
    rows = [
        HourActivity(1, hours_ago=0, viewers=10, completers=10),  # 20 points now
        HourActivity(2, hours_ago=30, viewers=100, completers=100),  # 200 points yesterday
    ]

    assert _order(maths.trending(rows, DAILY)) == [1]  # 30 hours ago is not today
    assert _order(maths.trending(rows, WEEKLY)) == [2, 1]


def test_the_weekly_window_ends_after_seven_days() -> None:
    rows = [HourActivity(1, hours_ago=167, viewers=3, completers=0)]
    rows += [HourActivity(2, hours_ago=168, viewers=50, completers=50)]

    assert _order(maths.trending(rows, WEEKLY)) == [1]


def test_trending_counts_starts_and_completions() -> None:
    rows = [
        HourActivity(1, 2, viewers=10, completers=0),
        HourActivity(2, 2, viewers=6, completers=6),
    ]

    assert _order(maths.trending(rows, DAILY)) == [2, 1]


# -- most binged ------------------------------------------------------------------------------


def test_binge_depth_is_episodes_per_viewer_pulled_towards_the_average() -> None:
    rows = [Binge(1, viewers=100, episodes=800), Binge(2, viewers=100, episodes=300)]
    average = 1100 / 200

    scores = _by_id(maths.binged(rows))

    assert scores[1] == pytest.approx((800 + 20 * average) / 120, abs=1e-6)
    assert _order(maths.binged(rows)) == [1, 2]


def test_one_viewer_who_watched_fifty_episodes_does_not_outrank_a_hundred_who_watched_eight() -> (
    None
):
    rows = [Binge(1, viewers=1, episodes=50), Binge(2, viewers=100, episodes=800)]
    rows += [Binge(3, viewers=200, episodes=400)]

    assert _order(maths.binged(rows)) == [2, 1, 3]


def test_no_viewers_no_binge_chart() -> None:
    assert maths.binged([]) == []
    assert maths.binged([Binge(1, viewers=0, episodes=0)]) == []


# -- top unlocked and rising ------------------------------------------------------------------


def test_top_unlocked_counts_unlocks() -> None:
    rows = [Tally(1, 3), Tally(2, 12), Tally(3, 0)]

    assert _order(maths.unlocked(rows)) == [2, 1]


def test_one_to_three_views_does_not_top_rising() -> None:
    rows = [
        Growth(1, now=3, before=1),  # tripled, but three viewers: +0.4 over the floor
        Growth(2, now=60, before=20),  # tripled with sixty: +2
        Growth(3, now=30, before=25),  # +0.2
        Growth(4, now=8, before=0),  # new and growing: +1.6
    ]

    scores = _by_id(maths.rising(rows))

    assert scores[1] == pytest.approx(2 / 5)
    assert _order(maths.rising(rows)) == [2, 4, 1, 3]


def test_only_series_that_grew_are_rising() -> None:
    rows = [Growth(1, now=10, before=10), Growth(2, now=5, before=40), Growth(3, now=6, before=5)]

    assert _order(maths.rising(rows)) == [3]


# -- places: genres, size, ties, change of rank -----------------------------------------------


def test_each_genre_gets_its_own_chart_numbered_from_one() -> None:
    scores = [Score(1, 9.0, 1), Score(2, 8.0, 1), Score(3, 7.0, 1), Score(4, 6.0, 1)]
    genre_of = {1: "romance", 2: "revenge", 3: "romance", 4: "revenge"}

    placed = maths.places(scores, genre_of)

    def chart(genre: str) -> list[tuple[int, int]]:
        return [(p.rank, p.series_id) for p in placed if p.genre == genre]

    assert chart("") == [(1, 1), (2, 2), (3, 3), (4, 4)]
    assert chart("romance") == [(1, 1), (2, 3)]
    assert chart("revenge") == [(1, 2), (2, 4)]


def test_only_series_in_the_feed_are_placed_and_charts_are_cut_at_their_size() -> None:
    scores = [Score(n, float(n), 1) for n in range(1, 8)]
    genre_of = {n: "romance" for n in range(1, 7)}  # 7 is not in the feed

    placed = maths.places(scores, genre_of, size=3)

    assert [p.series_id for p in placed if p.genre == ""] == [6, 5, 4]
    assert [p.series_id for p in placed if p.genre == "romance"] == [6, 5, 4]


def test_ties_go_to_the_larger_audience_then_to_the_lower_series_id() -> None:
    scores = [Score(5, 2.0, 10), Score(3, 2.0, 10), Score(9, 2.0, 40), Score(1, 1.0, 99)]

    assert _order(scores) == [9, 3, 5, 1]
    assert _order(list(reversed(scores))) == [9, 3, 5, 1]


def test_scores_that_differ_only_by_the_order_of_a_sum_tie() -> None:
    # 0.1 + 0.2 + 0.3 and 0.3 + 0.2 + 0.1 differ in the last bit; rounded they are equal.
    rows = [HourActivity(2, 0, 1, 0), HourActivity(2, 5, 1, 0), HourActivity(2, 9, 1, 0)]
    rows += [HourActivity(1, 9, 1, 0), HourActivity(1, 5, 1, 0), HourActivity(1, 0, 1, 0)]

    scores = maths.trending(rows, DAILY)

    assert _by_id(scores)[1] == _by_id(scores)[2]
    assert _order(scores) == [1, 2]


def test_the_change_of_rank_since_the_day_before() -> None:
    assert maths.move(2, 5) == (Move.up, 3)
    assert maths.move(4, 1) == (Move.down, 3)
    assert maths.move(3, 3) == (Move.same, 0)
    assert maths.move(1, None) == (Move.new, 0)
