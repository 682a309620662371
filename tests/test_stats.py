import numpy as np
import pytest

from harness.stats import mean_interval, paired_difference_interval


def test_mean_interval_matches_normal_approximation():
    rng = np.random.default_rng(1)
    values = rng.integers(0, 2, size=400).astype(float)
    interval = mean_interval(values)
    half_width = 1.96 * values.std(ddof=1) / np.sqrt(values.size)
    assert interval.estimate == pytest.approx(values.mean())
    assert interval.low == pytest.approx(values.mean() - half_width, abs=0.01)
    assert interval.high == pytest.approx(values.mean() + half_width, abs=0.01)
    assert interval.samples == 400


def test_mean_interval_degenerate_sample():
    interval = mean_interval([1.0, 1.0, 1.0])
    assert (interval.low, interval.estimate, interval.high) == (1.0, 1.0, 1.0)
    assert interval.method == "degenerate"


def test_paired_interval_is_narrower_than_unpaired():
    rng = np.random.default_rng(2)
    reference = rng.integers(0, 2, size=200).astype(float)
    candidate = reference.copy()
    flipped = rng.choice(200, size=20, replace=False)
    candidate[flipped] = 0.0
    paired = paired_difference_interval(reference, candidate)
    unpaired_half_width = 1.96 * np.sqrt(reference.var(ddof=1) / 200 + candidate.var(ddof=1) / 200)
    assert paired.estimate == pytest.approx(candidate.mean() - reference.mean())
    assert paired.high - paired.low < unpaired_half_width
    assert paired.method.startswith("paired")


def test_paired_interval_excludes_zero_for_clear_drop():
    reference = np.ones(100)
    candidate = np.ones(100)
    candidate[:30] = 0.0
    interval = paired_difference_interval(reference, candidate)
    assert interval.excludes_zero()
    assert interval.high < 0


def test_paired_interval_rejects_unequal_lengths():
    with pytest.raises(ValueError, match="equal length"):
        paired_difference_interval([1.0, 0.0], [1.0])
