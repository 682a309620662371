"""Baseline comparisons: pairing by variant kind, difference sign, excludes-zero marking, gain per minute."""

from __future__ import annotations

import numpy as np
import pytest

from harness.report.comparison import Gain, build_comparisons
from harness.report.uncertainty import samples_by_unit
from harness.stats import paired_difference_interval
from tests.report.test_uncertainty import TEXTS, outcomes_for, unit_examples
from tests.report.conftest import build_row


def unit(key: str, variant: str, kind: str, seed: int = 0, **overrides):
    return build_row(unit_key=key, train_key=f"t-{key}", variant=variant, variant_kind=kind, seed=seed, **overrides)


def test_reference_found_by_kind_not_name():
    rows = [unit("ref", "plain", "baseline"), unit("cand", "baseline", "adv")]
    examples = unit_examples("ref", outcomes_for(5, 0, 20)) + unit_examples("cand", outcomes_for(15, 0, 20))
    [comparison] = build_comparisons(rows, samples_by_unit(examples))

    assert comparison.variant == "baseline"
    assert comparison.reference_variant == "plain"
    assert comparison.difference == pytest.approx(0.5)


def test_clear_gain_is_marked():
    rows = [unit("ref", "baseline", "baseline"), unit("cand", "adv", "adv")]
    examples = unit_examples("ref", outcomes_for(4, 2, 40)) + unit_examples("cand", outcomes_for(24, 2, 40))
    [comparison] = build_comparisons(rows, samples_by_unit(examples))

    assert comparison.difference == pytest.approx(0.5)
    assert comparison.over_examples.low > 0.0
    assert comparison.over_examples.low <= 0.5 <= comparison.over_examples.high
    assert comparison.over_seeds is None
    assert comparison.direction == 1
    assert comparison.to_dict()["excludes_zero"] is True


def test_clear_loss_has_negative_sign():
    rows = [unit("ref", "baseline", "baseline"), unit("cand", "reg", "reg")]
    examples = unit_examples("ref", outcomes_for(30, 0, 40)) + unit_examples("cand", outcomes_for(5, 0, 40))
    [comparison] = build_comparisons(rows, samples_by_unit(examples))

    assert comparison.difference == pytest.approx(-25 / 40)
    assert comparison.over_examples.high < 0.0
    assert comparison.direction == -1


def test_small_difference_not_marked():
    rows = [unit("ref", "baseline", "baseline"), unit("cand", "kd", "kd")]
    # The candidate loses examples 0-4 and gains examples 10-15: six gains, five losses.
    candidate = ["succeeded"] * 5 + ["failed"] * 11 + ["succeeded"] * 24
    examples = unit_examples("ref", outcomes_for(10, 0, 40)) + unit_examples("cand", candidate)
    [comparison] = build_comparisons(rows, samples_by_unit(examples))

    assert comparison.difference == pytest.approx(1 / 40)
    assert comparison.over_examples.low < 0.0 < comparison.over_examples.high
    assert comparison.direction == 0


def test_per_seed_interval_equals_stats_function():
    rows = [unit("ref", "baseline", "baseline"), unit("cand", "kd", "kd")]
    reference = outcomes_for(10, 3, 30)
    candidate = ["succeeded"] * 5 + ["failed"] * 12 + ["skipped"] * 13
    examples = unit_examples("ref", reference) + unit_examples("cand", candidate)
    [comparison] = build_comparisons(rows, samples_by_unit(examples))

    expected = paired_difference_interval(
        [outcome == "failed" for outcome in reference], [outcome == "failed" for outcome in candidate])
    assert comparison.seeds[0].difference == expected
    assert comparison.over_examples == expected


def test_other_texts_are_not_paired():
    rows = [unit("ref", "baseline", "baseline"), unit("cand", "adv", "adv")]
    other = list(TEXTS)
    other[3] = "a different review"
    examples = unit_examples("ref", outcomes_for(5, 0, 20)) + unit_examples("cand", outcomes_for(9, 0, 20), texts=other)
    [comparison] = build_comparisons(rows, samples_by_unit(examples))

    assert comparison.seeds[0].difference is None
    assert comparison.seeds[0].note == (
        "the attacked examples differ: 20 and 20 examples, 20 shared indices, 1 of them with other texts")
    assert comparison.difference is None
    assert comparison.direction == 0
    assert comparison.gain.per_minute is None


def test_pairs_by_model_attack_and_seed():
    rows = [
        unit("ref0", "baseline", "baseline", seed=0), unit("ref1", "baseline", "baseline", seed=1),
        unit("cand0", "adv", "adv", seed=0),
        unit("other-model", "adv", "adv", model="bert-tiny"),
        unit("other-attack", "adv", "adv", attack="pwws"),
    ]
    comparisons = build_comparisons(rows, samples_by_unit(
        [example for key in ("ref0", "ref1", "cand0") for example in unit_examples(key, outcomes_for(3, 0, 5))]))

    assert len(comparisons) == 1
    assert [(seed.seed, seed.reference_unit_key, seed.unit_key) for seed in comparisons[0].seeds] == [
        (0, "ref0", "cand0")]


def several_seeds(candidate_robust: list[int], reference_robust: list[int], total: int = 40):
    rows, examples = [], []
    for seed, (good, base) in enumerate(zip(candidate_robust, reference_robust)):
        rows += [unit(f"ref{seed}", "baseline", "baseline", seed=seed, train_seconds=60.0),
                 unit(f"cand{seed}", "adv", "adv", seed=seed, train_seconds=120.0 + 60.0 * seed)]
        examples += unit_examples(f"ref{seed}", outcomes_for(base, 0, total))
        examples += unit_examples(f"cand{seed}", outcomes_for(good, 0, total))
    [comparison] = build_comparisons(rows, samples_by_unit(examples))
    return comparison


def test_seed_mean_and_both_intervals():
    comparison = several_seeds([30, 28, 32], [10, 12, 9])
    differences = np.array([20, 16, 23]) / 40

    assert [seed.seed for seed in comparison.paired_seeds] == [0, 1, 2]
    assert comparison.difference == pytest.approx(differences.mean())
    assert comparison.over_seeds.samples == 3
    assert comparison.over_seeds.low >= differences.min() - 1e-12
    assert comparison.over_examples.samples == 40
    assert comparison.over_examples.estimate == pytest.approx(differences.mean())
    assert comparison.direction == 1


def test_seeds_disagreeing_are_not_marked():
    comparison = several_seeds([30, 5], [10, 12])

    assert comparison.over_seeds.low < 0.0 < comparison.over_seeds.high
    assert comparison.direction == 0


def test_gain_per_extra_minute():
    comparison = several_seeds([30, 28], [10, 12])
    difference = (20 / 40 + 16 / 40) / 2
    extra_seconds = np.mean([60.0, 120.0])

    assert comparison.extra_train_seconds == pytest.approx(extra_seconds)
    assert comparison.gain.per_minute == pytest.approx(difference / (extra_seconds / 60))
    assert comparison.seeds[0].gain.per_minute == pytest.approx((20 / 40) / 1.0)


@pytest.mark.parametrize("difference, extra, reason", [
    (0.1, 0.0, "the variant trained no longer than the baseline (+0.0 s), so a gain per extra minute is undefined"),
    (0.1, -30.0, "the variant trained no longer than the baseline (-30.0 s), so a gain per extra minute is undefined"),
    (0.1, None, "the training time of the variant or of the baseline is missing"),
    (None, 30.0, "no paired robust accuracy difference"),
])
def test_gain_undefined_reasons(difference, extra, reason):
    gain = Gain.of(difference, extra)

    assert gain.per_minute is None
    assert gain.reason == reason
