"""The maths of a feed experiment's results: 95 % intervals for an arm's mean (normal
approximation) and proportion (Wilson score), and for the treatment's difference from control
(Welch's unequal-variance normal approximation for means, Newcombe's hybrid score for
proportions). Everything is read from per-arm sums, so the database does the counting.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from statistics import NormalDist

Z95 = NormalDist().inv_cdf(0.975)  # 1.959963...


class Verdict(enum.StrEnum):
    # ("lower" cannot be a member's name: str has a method of that name.)
    treatment_higher = "higher"  # the whole interval of treatment - control is above zero
    treatment_lower = "lower"  # the whole interval is below zero
    no_clear_difference = "no_clear_difference"  # the interval includes zero
    not_enough_data = "not_enough_data"  # no interval yet (an arm without viewers or events)


@dataclass(frozen=True)
class Interval:
    """An estimate with its 95 % interval; None where there is not enough data for one."""

    value: float | None = None
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class Sums:
    """One arm's per-viewer values as the database sums them: n, Σx and Σx²."""

    n: int
    total: float
    squares: float

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n else None

    @property
    def variance(self) -> float | None:
        """The sample variance (n - 1), never below zero from rounding."""
        if self.n < 2:
            return None
        return max(0.0, (self.squares - self.total * self.total / self.n) / (self.n - 1))


def mean_interval(sums: Sums, z: float = Z95) -> Interval:
    """An arm's mean per viewer, ± z standard errors."""
    mean, variance = sums.mean, sums.variance
    if mean is None or variance is None:
        return Interval(value=mean)
    half = z * math.sqrt(variance / sums.n)
    return Interval(value=mean, low=mean - half, high=mean + half)


def welch_difference(treatment: Sums, control: Sums, z: float = Z95) -> Interval:
    """Treatment's mean minus control's, with Welch's standard error (each arm its own
    variance), in the normal approximation (many viewers per arm)."""
    if treatment.variance is None or control.variance is None:
        return Interval()
    assert treatment.mean is not None and control.mean is not None
    difference = treatment.mean - control.mean
    error = math.sqrt(treatment.variance / treatment.n + control.variance / control.n)
    return Interval(value=difference, low=difference - z * error, high=difference + z * error)


def wilson(successes: int, trials: int, z: float = Z95) -> Interval:
    """A proportion with its Wilson score interval (good also near 0 and 1, and for few trials)."""
    if trials <= 0:
        return Interval()
    p = successes / trials
    z2 = z * z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / (1 + z2 / trials)
    # At 0 or all successes a bound is exactly 0 or 1 (the formula leaves rounding dust).
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return Interval(value=p, low=low, high=high)


def newcombe_difference(
    treatment: tuple[int, int], control: tuple[int, int], z: float = Z95
) -> Interval:
    """Treatment's proportion minus control's ((successes, trials) each), with Newcombe's
    hybrid score interval (method 10), built from the two Wilson intervals."""
    one, two = wilson(*treatment, z=z), wilson(*control, z=z)
    if one.value is None or two.value is None:
        return Interval()
    assert one.low is not None and one.high is not None
    assert two.low is not None and two.high is not None
    difference = one.value - two.value
    below = math.sqrt((one.value - one.low) ** 2 + (two.high - two.value) ** 2)
    above = math.sqrt((one.high - one.value) ** 2 + (two.value - two.low) ** 2)
    return Interval(value=difference, low=difference - below, high=difference + above)


def verdict(difference: Interval) -> Verdict:
    """What a difference's interval says: clearly higher, clearly lower, or not (yet) clear."""
    if difference.low is None or difference.high is None:
        return Verdict.not_enough_data
    if difference.low > 0:
        return Verdict.treatment_higher
    if difference.high < 0:
        return Verdict.treatment_lower
    return Verdict.no_clear_difference
