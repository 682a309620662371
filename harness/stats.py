"""Bootstrap confidence intervals shared by the leaderboard and the regression gate.

Both functions wrap ``scipy.stats.bootstrap`` (BCa by default). Degenerate samples, where
every resample gives the same statistic, get a zero-width interval instead of the NaN
bounds that BCa returns for them.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
RESAMPLES = 9999


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided bootstrap confidence interval."""

    estimate: float
    low: float
    high: float
    confidence: float
    samples: int
    method: str

    def excludes_zero(self) -> bool:
        return self.low > 0.0 or self.high < 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def mean_interval(values: Sequence[float], *, confidence: float = CONFIDENCE, resamples: int = RESAMPLES,
                  seed: int = 0) -> Interval:
    """Estimate the mean of ``values`` with a bootstrap confidence interval.

    A single value, or values that are all equal, give a zero-width interval.
    """
    sample = np.asarray(values, dtype=float)
    if sample.ndim != 1 or sample.size == 0:
        raise ValueError(f"mean_interval needs a non-empty 1-D sample, got shape {sample.shape}")
    estimate = float(sample.mean())
    if sample.size == 1 or np.all(sample == sample[0]):
        return Interval(estimate, estimate, estimate, confidence, int(sample.size), "degenerate")
    low, high, method = _bootstrap((sample,), np.mean, confidence, resamples, seed, paired=False)
    return Interval(estimate, low, high, confidence, int(sample.size), method)


def paired_difference_interval(reference: Sequence[float], candidate: Sequence[float], *,
                               confidence: float = CONFIDENCE, resamples: int = RESAMPLES,
                               seed: int = 0) -> Interval:
    """Estimate ``mean(candidate) - mean(reference)`` over paired observations.

    Element ``i`` of both sequences must come from the same example (or seed): the bootstrap
    resamples pairs, so the interval reflects the paired design.
    """
    first = np.asarray(reference, dtype=float)
    second = np.asarray(candidate, dtype=float)
    if first.shape != second.shape or first.ndim != 1 or first.size == 0:
        raise ValueError(f"paired samples must be non-empty, 1-D and of equal length, got {first.shape} and {second.shape}")
    differences = second - first
    estimate = float(differences.mean())
    if differences.size == 1 or np.all(differences == differences[0]):
        return Interval(estimate, estimate, estimate, confidence, int(differences.size), "degenerate")

    def mean_difference(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.mean(b, axis=axis) - np.mean(a, axis=axis)

    low, high, method = _bootstrap((first, second), mean_difference, confidence, resamples, seed, paired=True)
    return Interval(estimate, low, high, confidence, int(differences.size), method)


def _bootstrap(data: tuple[np.ndarray, ...], statistic, confidence: float, resamples: int, seed: int,
               *, paired: bool) -> tuple[float, float, str]:
    rng = np.random.default_rng(seed)
    with warnings.catch_warnings():
        # BCa warns and returns NaN when the resampled statistics are nearly constant;
        # the percentile method is the fallback for that case.
        warnings.simplefilter("ignore", category=stats.DegenerateDataWarning)
        result = stats.bootstrap(data, statistic, n_resamples=resamples, confidence_level=confidence,
                                 paired=paired, vectorized=True, method="BCa", rng=rng)
        low, high = result.confidence_interval
        if np.isfinite(low) and np.isfinite(high):
            return float(low), float(high), "paired BCa bootstrap" if paired else "BCa bootstrap"
        result = stats.bootstrap(data, statistic, n_resamples=resamples, confidence_level=confidence,
                                 paired=paired, vectorized=True, method="percentile", rng=np.random.default_rng(seed))
        low, high = result.confidence_interval
        return float(low), float(high), "paired percentile bootstrap" if paired else "percentile bootstrap"
