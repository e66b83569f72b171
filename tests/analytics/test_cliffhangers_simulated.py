"""Cliffhanger scores against simulated audiences whose true ending strengths are known.

A catalog of 8 series (12 to 20 episodes, the paywall after episode 5 to 8), each started by 2,000
viewers. At every episode 95 % of its viewers reach the last 10 seconds and 96 % of those
finish; a finisher goes on with the odds of the catalog's curve (falling with log(episode),
a dip at the paywall, a smaller one past it) times the episode's own ending strength, whose
log is drawn from N(0, 0.5). The scores come from the counting functions alone (no
database): the DB path that produces the counts is checked in test_cliffhangers_db.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
from scipy.stats import spearmanr

from microdrama.analytics.cliffhangers import (
    MIN_FINISHERS,
    EndingCounts,
    Label,
    fit_expectation,
    score,
    score_catalog,
    wilson,
)

VIEWERS = 2_000
SERIES = 8
RUNS = 40
SCORED = (Label.strong, Label.typical, Label.weak)


@dataclass(frozen=True)
class Audience:
    counts: list[EndingCounts]
    strengths: list[float]  # the true log ending strength of each episode, counts' order


def simulate(seed: int, *, viewers: int = VIEWERS, spread: float = 0.5) -> Audience:
    rng = np.random.default_rng(seed)
    counts: list[EndingCounts] = []
    strengths: list[float] = []
    for series_id in range(SERIES):
        episodes = int(rng.integers(12, 21))
        free = int(rng.integers(5, 9))
        starters = viewers
        for number in range(1, episodes + 1):
            reached = int(rng.binomial(starters, 0.95))
            finished = int(rng.binomial(reached, 0.96))
            strength = float(rng.normal(0.0, spread))
            log_odds = (
                2.6 - 0.5 * math.log(number) - 1.8 * (number == free) - 0.3 * (number > free)
            ) + strength
            has_next = number < episodes
            continued = (
                int(rng.binomial(finished, 1 / (1 + math.exp(-log_odds)))) if has_next else 0
            )
            counts.append(
                EndingCounts(
                    series_id=series_id, number=number, free_episodes=free, has_next=has_next,
                    finished=finished, continued=continued, reached_end=reached,
                    left_in_end=reached - finished,
                )
            )  # fmt: skip
            strengths.append(strength)
            starters = continued
    return Audience(counts, strengths)


def against_truth(label: Label, strength: float) -> bool:
    """Labelled strong while the ending is truly no better than typical, or weak while it is
    truly no worse."""
    return (label is Label.strong and strength <= 0) or (label is Label.weak and strength >= 0)


def test_scores_rank_endings_as_their_true_strengths_and_never_label_against_the_truth() -> None:
    rhos: list[float] = []
    runs_with_a_wrong_label = 0
    labelled = 0
    for seed in range(RUNS):
        audience = simulate(seed)
        scores = score_catalog(audience.counts)
        pairs = [
            (s.score, truth)
            for s, truth in zip(scores, audience.strengths, strict=True)
            if s.label in SCORED
        ]
        rho = spearmanr([p[0] for p in pairs], [p[1] for p in pairs]).statistic
        rhos.append(float(rho))
        labelled += sum(s.label in (Label.strong, Label.weak) for s in scores)
        if any(
            against_truth(s.label, truth)
            for s, truth in zip(scores, audience.strengths, strict=True)
        ):
            runs_with_a_wrong_label += 1
    print(
        f"Spearman over {RUNS} runs: min {min(rhos):.3f}, median {np.median(rhos):.3f}; "
        f"runs with a label against the truth: {runs_with_a_wrong_label}; "
        f"labelled strong or weak per run: {labelled / RUNS:.1f}"
    )
    assert min(rhos) >= 0.8
    assert runs_with_a_wrong_label <= RUNS * 0.05
    # The labels say something: on average several endings per catalog stand out.
    assert labelled / RUNS >= 10


def test_the_expectation_finds_the_catalog_curve_and_the_paywall_dip() -> None:
    audience = simulate(7)
    expectation = fit_expectation(audience.counts)
    assert expectation is not None
    intercept, slope, paywall, past = expectation.coefficients
    assert intercept == pytest.approx(2.6, abs=0.4)
    assert slope == pytest.approx(-0.5, abs=0.3)
    assert paywall == pytest.approx(-1.8, abs=0.5)
    assert past == pytest.approx(-0.3, abs=0.5)
    # The endings' spread beyond chance is found too (0.5 on the log-odds).
    assert expectation.spread == pytest.approx(0.5, abs=0.15)


def episode(
    number: int, finished: int, continued: int, *, series_id: int = 1, has_next: bool = True,
    reached_end: int = 0, left_in_end: int = 0,
) -> EndingCounts:  # fmt: skip
    return EndingCounts(
        series_id=series_id, number=number, free_episodes=5, has_next=has_next,
        finished=finished, continued=continued, reached_end=reached_end, left_in_end=left_in_end,
    )  # fmt: skip


def flat_catalog() -> list[EndingCounts]:
    """Forty episodes (numbers 1 to 8) that all keep 80 % of their 500 finishers (no spread)."""
    return [episode(n, 500, 400, series_id=s) for s in range(5) for n in range(1, 9)]


def test_labels_need_the_interval_beyond_the_typical_band() -> None:
    expectation = fit_expectation(flat_catalog())
    assert expectation is not None
    # 80 % is what the catalog does at episode 3.
    typical = score(episode(3, 500, 400), expectation)
    assert typical.label is Label.typical
    assert typical.expected == pytest.approx(0.8, abs=0.01)
    assert typical.score == pytest.approx(0.0, abs=0.02)
    # 90 % of 500: odds 9 against 4, 2.25 times the expected: beyond 1.25 even at the low end.
    strong = score(episode(3, 500, 450), expectation)
    assert strong.label is Label.strong
    assert strong.score_low is not None and strong.score_low > math.log(1.25)
    assert strong.continuation_low is not None and strong.continuation_low > 0.85
    # 60 %: odds 1.5 against 4.
    assert score(episode(3, 500, 300), expectation).label is Label.weak
    # 90 % of 40 viewers: the same share, but the interval reaches the typical band.
    few = score(episode(3, 40, 36), expectation)
    assert few.label is Label.typical
    assert few.score_low is not None and few.score_high is not None
    assert few.score_low < math.log(1.25) < few.score_high
    # Under MIN_FINISHERS: no verdict at all, whatever the share.
    assert score(episode(3, MIN_FINISHERS - 1, 0), expectation).label is Label.not_enough_viewers
    # The finale has no next episode to carry viewers to.
    finale = score(episode(8, 0, 0, has_next=False, reached_end=100, left_in_end=7), expectation)
    assert finale.label is Label.no_next_episode and finale.continuation is None
    assert finale.drop_off == pytest.approx(0.07)


def test_no_catalog_data_means_no_verdict() -> None:
    assert fit_expectation([episode(1, 0, 0)]) is None
    assert score(episode(1, 100, 90), None).label is Label.not_enough_viewers


def test_wilson_interval_of_a_drop_off() -> None:
    # 7 of 100 left in the last 10 s: the textbook Wilson interval 3.4 % to 13.7 %.
    low, high = wilson(7, 100)
    assert (round(low, 3), round(high, 3)) == (0.034, 0.137)
    assert wilson(0, 0) == (0.0, 1.0)
