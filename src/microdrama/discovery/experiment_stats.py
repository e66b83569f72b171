"""The maths of a feed experiment's results: 95 % intervals for an arm's mean per viewer and
its share of events (a ratio of two per-viewer counts, like continuations over completions),
and for the treatment's difference from control, all in the normal approximation (arms of
many viewers): Welch's unequal variances for the difference of means, and the delta method
with viewers as clusters for ratios. A share is not a plain proportion of independent trials:
one viewer's completions go together (a binger brings dozens), so a Wilson interval over
completions would be too narrow. Everything is read from per-arm sums, so the database does
the counting.
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


@dataclass(frozen=True)
class RatioSums:
    """One arm's per-viewer counts of events (x, e.g. completions) and of those that
    succeeded (y, e.g. followed by the next episode), as the database sums them."""

    n: int
    y: float
    x: float
    yy: float
    xx: float
    xy: float

    @property
    def ratio(self) -> float | None:
        return self.y / self.x if self.x else None

    @property
    def variance(self) -> float | None:
        """The ratio's variance by the delta method, each viewer one cluster:
        Σ(y - R x)² / (n - 1) / (n x̄²)."""
        ratio = self.ratio
        if ratio is None or self.n < 2:
            return None
        spread = (self.yy - 2 * ratio * self.xy + ratio * ratio * self.xx) / (self.n - 1)
        mean_x = self.x / self.n
        return max(0.0, spread) / (self.n * mean_x * mean_x)


def ratio_interval(sums: RatioSums, z: float = Z95) -> Interval:
    """An arm's share of events, ± z standard errors, kept within 0 and 1."""
    ratio, variance = sums.ratio, sums.variance
    if ratio is None or variance is None:
        return Interval(value=ratio)
    half = z * math.sqrt(variance)
    return Interval(value=ratio, low=max(0.0, ratio - half), high=min(1.0, ratio + half))


def ratio_difference(treatment: RatioSums, control: RatioSums, z: float = Z95) -> Interval:
    """Treatment's share minus control's, the two arms' variances added."""
    if treatment.variance is None or control.variance is None:
        return Interval()
    assert treatment.ratio is not None and control.ratio is not None
    difference = treatment.ratio - control.ratio
    error = math.sqrt(treatment.variance + control.variance)
    return Interval(value=difference, low=difference - z * error, high=difference + z * error)


def verdict(difference: Interval) -> Verdict:
    """What a difference's interval says: clearly higher, clearly lower, or not (yet) clear."""
    if difference.low is None or difference.high is None:
        return Verdict.not_enough_data
    if difference.low > 0:
        return Verdict.treatment_higher
    if difference.high < 0:
        return Verdict.treatment_lower
    return Verdict.no_clear_difference
