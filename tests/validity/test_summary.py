"""Validity verdicts and robust accuracy with only valid attacks counted, on hand-built examples."""

from __future__ import annotations

import pytest

from harness.validity.params import ValidityParams
from harness.validity.summary import ExampleScores, is_valid, summarize_unit

PARAMS = ValidityParams(min_similarity=0.8, max_perplexity_ratio=2.0, fluency_model="smollm2")


def test_verdict_thresholds_inclusive():
    assert is_valid(ExampleScores(0.8, 10.0, 20.0), PARAMS) is True
    assert is_valid(ExampleScores(0.79, 10.0, 10.0), PARAMS) is False
    assert is_valid(ExampleScores(0.95, 10.0, 20.1), PARAMS) is False


def test_verdict_missing_scores():
    assert is_valid(ExampleScores(None, 10.0, 10.0), PARAMS) is None
    assert is_valid(ExampleScores(0.9, None, None), PARAMS) is None
    # A perturbed text without tokens has no perplexity, and the attack cannot pass the fluency threshold.
    assert is_valid(ExampleScores(0.9, 10.0, None), PARAMS) is False


def test_verdict_without_fluency():
    params = ValidityParams(fluency_model="none")
    assert is_valid(ExampleScores(0.9, None, None), params) is True
    assert is_valid(ExampleScores(0.9, 10.0, 1000.0), params) is True


def test_valid_only_robust_accuracy():
    # 10 attacked: 2 skipped, 3 failed, 5 succeeded, of which 2 pass both thresholds.
    successes = [
        ExampleScores(0.95, 20.0, 30.0),   # valid
        ExampleScores(0.85, 20.0, 40.0),   # valid, ratio exactly 2
        ExampleScores(0.70, 20.0, 22.0),   # similarity too low
        ExampleScores(0.90, 20.0, 100.0),  # ratio 5
        ExampleScores(0.60, 20.0, 200.0),  # both fail
    ]
    summary = summarize_unit(successes, attacked=10, failed=3, params=PARAMS)
    assert summary.valid_attack_share == pytest.approx(2 / 5)
    assert summary.robust_accuracy_valid == pytest.approx((3 + 3) / 10)
    assert summary.mean_similarity == pytest.approx((0.95 + 0.85 + 0.70 + 0.90 + 0.60) / 5)
    assert summary.mean_perplexity_ratio == pytest.approx((1.5 + 2.0 + 1.1 + 5.0 + 10.0) / 5)
    assert summary.scored == 5


def test_looser_thresholds_restore_robust_accuracy():
    successes = [ExampleScores(0.5, 10.0, 50.0), ExampleScores(0.6, 10.0, 60.0)]
    loose = ValidityParams(min_similarity=-1.0, max_perplexity_ratio=1000.0)
    summary = summarize_unit(successes, attacked=4, failed=1, params=loose)
    assert summary.robust_accuracy_valid == pytest.approx(1 / 4)
    assert summary.valid_attack_share == 1.0


def test_unscored_success_blanks_figures():
    successes = [ExampleScores(0.9, 10.0, 11.0), ExampleScores(None, None, None)]
    summary = summarize_unit(successes, attacked=4, failed=1, params=PARAMS)
    assert summary.robust_accuracy_valid is None
    assert summary.valid_attack_share is None
    assert summary.mean_similarity is None
    assert summary.scored == 1


def test_no_successes_keeps_robust_accuracy():
    summary = summarize_unit([], attacked=5, failed=3, params=PARAMS)
    assert summary.robust_accuracy_valid == pytest.approx(3 / 5)
    assert summary.valid_attack_share is None
    assert summary.mean_similarity is None
