import pytest

from harness.errors import RsbenchError
from harness.gate.compare import (
    IMPROVED, MISSING, NOT_MEASURED, NOT_SIGNIFICANT, REGRESSED, UNCHANGED, WITHIN_TOLERANCE, GateSettings,
    compare_snapshots, judge_metric,
)
from harness.gate.document import ExampleOutcome, Snapshot, SnapshotUnit
from harness.gate.snapshot import text_sha256
from harness.gate.tolerance import GATED_METRICS, Tolerance
from harness.stats import Interval

ROBUST = GATED_METRICS["robust_accuracy"]
SUCCESS = GATED_METRICS["attack_success_rate"]
CLEAN = GATED_METRICS["clean_accuracy"]
SETTINGS = GateSettings(resamples=2000)


def _interval(low: float, high: float) -> Interval:
    return Interval((low + high) / 2, low, high, 0.95, 100, "paired BCa bootstrap")


def _unit(outcomes: list[str], *, variant: str = "baseline", key: str = "k1", clean: float = 0.9,
          texts: list[str] | None = None, status: str = "done", attack: str | None = "deepwordbug") -> SnapshotUnit:
    texts = texts or [f"text {index}" for index in range(len(outcomes))]
    records = [
        ExampleOutcome(index=index, text_sha256=text_sha256(texts[index]), label=0, outcome=outcome,
                       clean_correct=int(outcome != "skipped"), robust_correct=int(outcome == "failed"))
        for index, outcome in enumerate(outcomes)
    ]
    attacked = len(outcomes)
    not_skipped = attacked - outcomes.count("skipped")
    metrics = {
        "clean_accuracy": clean, "clean_macro_f1": clean,
        "robust_accuracy": outcomes.count("failed") / attacked if attacked and attack else None,
        "attack_success_rate": outcomes.count("succeeded") / not_skipped if not_skipped and attack else None,
    }
    if status == "failed":
        metrics = {"clean_accuracy": clean, "clean_macro_f1": clean, "robust_accuracy": None, "attack_success_rate": None}
    return SnapshotUnit(unit_key=key, train_key="t1", task="sentiment", dataset="reviews.csv", model="tiny-bert",
                        variant=variant, attack=attack, seed=0, status=status,
                        error="boom" if status == "failed" else None, metrics=metrics,
                        example_outcomes=records if attack and status == "done" else None)


def _snapshot(*units: SnapshotUnit, source: str = "run") -> Snapshot:
    return Snapshot(suite="gate-test", source=source, units=list(units))


def _verdicts(comparison) -> dict[str, str]:
    return {result.metric: result.verdict for result in comparison.units[0].metrics}


# The decision rule on one metric


def test_judge_drop_within_tolerance():
    result = judge_metric(ROBUST, 0.80, 0.79, Tolerance(0.02, False), _interval(-0.05, -0.001), "paired")
    assert result.verdict == WITHIN_TOLERANCE
    assert not result.regressed


def test_judge_drop_beyond_tolerance_and_interval_below_zero():
    result = judge_metric(ROBUST, 0.80, 0.70, Tolerance(0.02, False), _interval(-0.15, -0.05), "paired")
    assert result.verdict == REGRESSED
    assert result.regressed
    assert result.change == pytest.approx(-0.10)


def test_judge_drop_beyond_tolerance_but_interval_covers_zero():
    result = judge_metric(ROBUST, 0.80, 0.70, Tolerance(0.02, False), _interval(-0.20, 0.01), "paired")
    assert result.verdict == NOT_SIGNIFICANT
    assert not result.regressed


def test_judge_significant_drop_within_tolerance_passes():
    result = judge_metric(ROBUST, 0.80, 0.70, Tolerance(0.15, False), _interval(-0.15, -0.05), "paired")
    assert result.verdict == WITHIN_TOLERANCE


def test_judge_relative_tolerance():
    # 10% of 0.5 allows a drop of 0.05.
    assert judge_metric(ROBUST, 0.50, 0.46, Tolerance(0.10, True), _interval(-0.1, -0.01), "p").verdict == WITHIN_TOLERANCE
    assert judge_metric(ROBUST, 0.50, 0.44, Tolerance(0.10, True), _interval(-0.1, -0.01), "p").verdict == REGRESSED


def test_judge_drop_equal_to_tolerance_is_allowed():
    result = judge_metric(ROBUST, 0.70, 0.68, Tolerance(0.02, False), _interval(-0.05, -0.01), "paired")
    assert result.verdict == WITHIN_TOLERANCE


def test_judge_higher_attack_success_rate_is_worse():
    worse = judge_metric(SUCCESS, 0.40, 0.60, Tolerance(0.02, False), _interval(0.10, 0.30), "paired")
    better = judge_metric(SUCCESS, 0.60, 0.40, Tolerance(0.02, False), _interval(-0.30, -0.10), "paired")
    assert worse.verdict == REGRESSED
    assert better.verdict == IMPROVED


def test_judge_interval_on_the_better_side_never_regresses():
    # An interval above zero for attack success rate is a regression, below zero is not.
    result = judge_metric(SUCCESS, 0.40, 0.60, Tolerance(0.02, False), _interval(-0.30, -0.10), "paired")
    assert result.verdict == NOT_SIGNIFICANT


def test_judge_without_interval_uses_tolerance_alone():
    assert judge_metric(CLEAN, 0.90, 0.85, Tolerance(0.02, False), None, "tolerance only").verdict == REGRESSED
    assert judge_metric(CLEAN, 0.90, 0.89, Tolerance(0.02, False), None, "tolerance only").verdict == WITHIN_TOLERANCE


def test_judge_unchanged_improved_and_missing_values():
    assert judge_metric(CLEAN, 0.9, 0.9, Tolerance(0.0, False), None, "t").verdict == UNCHANGED
    assert judge_metric(CLEAN, 0.8, 0.9, Tolerance(0.0, False), None, "t").verdict == IMPROVED
    assert judge_metric(ROBUST, None, None, Tolerance(0.0, False), None, "t").verdict == NOT_MEASURED
    missing = judge_metric(ROBUST, 0.5, None, Tolerance(0.0, False), None, "t")
    assert missing.verdict == MISSING
    assert missing.regressed


# Whole comparisons with paired bootstrap intervals


def test_identical_runs_pass():
    unit = _unit(["failed"] * 12 + ["succeeded"] * 6 + ["skipped"] * 2)
    comparison = compare_snapshots(_snapshot(unit, source="base"), _snapshot(unit), SETTINGS)
    assert comparison.passed
    assert set(_verdicts(comparison).values()) == {UNCHANGED}
    assert comparison.units[0].keys_match


def test_clear_robust_accuracy_drop_regresses():
    base = _unit(["failed"] * 30 + ["succeeded"] * 10)
    now = _unit(["failed"] * 10 + ["succeeded"] * 30, key="k2")
    comparison = compare_snapshots(_snapshot(base), _snapshot(now), SETTINGS)
    verdicts = _verdicts(comparison)
    assert verdicts["robust_accuracy"] == REGRESSED
    assert verdicts["attack_success_rate"] == REGRESSED
    assert verdicts["clean_accuracy"] == UNCHANGED
    assert not comparison.passed
    robust = comparison.units[0].metrics[2]
    assert robust.interval.high < 0
    assert robust.interval.samples == 40
    assert robust.interval.estimate == pytest.approx(-0.5)
    assert not comparison.units[0].keys_match


def test_small_noisy_drop_beyond_tolerance_is_not_significant():
    # Two examples of ten flip to wrong and one flips to right: the drop (0.1) exceeds
    # the tolerance, but ten paired examples cannot tell it from noise.
    base = _unit(["failed", "failed", "succeeded"] + ["failed"] * 4 + ["succeeded"] * 3)
    now = _unit(["succeeded", "succeeded", "failed"] + ["failed"] * 4 + ["succeeded"] * 3)
    comparison = compare_snapshots(_snapshot(base), _snapshot(now), SETTINGS)
    robust = comparison.units[0].metrics[2]
    assert robust.change == pytest.approx(-0.1)
    assert robust.interval.low < 0 < robust.interval.high
    assert robust.verdict == NOT_SIGNIFICANT
    assert comparison.passed


def test_clean_accuracy_drop_judged_on_tolerance_alone():
    outcomes = ["failed"] * 5 + ["succeeded"] * 5
    comparison = compare_snapshots(_snapshot(_unit(outcomes, clean=0.9)), _snapshot(_unit(outcomes, clean=0.85)), SETTINGS)
    clean = comparison.units[0].metrics[0]
    assert clean.verdict == REGRESSED
    assert clean.interval is None
    assert clean.basis.startswith("tolerance only")


def test_success_rate_pairs_unskipped_examples():
    base = _unit(["succeeded", "failed", "skipped", "failed"])
    now = _unit(["succeeded", "skipped", "failed", "succeeded"])
    comparison = compare_snapshots(_snapshot(base), _snapshot(now), SETTINGS)
    success = comparison.units[0].metrics[3]
    # Examples 0 and 3 are attacked in both runs; example 3 now succeeds.
    assert success.interval.samples == 2
    assert "not skipped in both runs" in success.basis


def test_failed_unit_in_run_regresses():
    base = _unit(["failed"] * 5)
    now = _unit(["failed"] * 5, status="failed")
    comparison = compare_snapshots(_snapshot(base), _snapshot(now), SETTINGS)
    unit = comparison.units[0]
    assert unit.regressed
    assert unit.problems == ("the unit failed in this run: boom",)
    assert _verdicts(comparison)["robust_accuracy"] == MISSING


def test_unit_without_attack_compares_clean_metrics():
    base = _unit([], attack=None, clean=0.9)
    now = _unit([], attack=None, clean=0.5)
    comparison = compare_snapshots(_snapshot(base), _snapshot(now), SETTINGS)
    verdicts = _verdicts(comparison)
    assert verdicts["clean_accuracy"] == REGRESSED
    assert verdicts["robust_accuracy"] == NOT_MEASURED


# Bad input: units and examples that do not match


def test_unit_missing_from_run_is_bad_input():
    base = _snapshot(_unit(["failed"]), _unit(["failed"], variant="kd"), source="base.json")
    with pytest.raises(RsbenchError) as error:
        compare_snapshots(base, _snapshot(_unit(["failed"])), SETTINGS)
    message = str(error.value)
    assert error.value.exit_code == 2
    assert "unit sentiment/tiny-bert/kd/deepwordbug/seed 0 is in the baseline but not in the run" in message
    assert "rsbench baseline RUN_DIR -o FILE" in message


def test_unit_missing_from_baseline_is_bad_input():
    run = _snapshot(_unit(["failed"]), _unit(["failed"], variant="reg"))
    with pytest.raises(RsbenchError, match="reg/deepwordbug/seed 0 is in the run but not in the baseline"):
        compare_snapshots(_snapshot(_unit(["failed"])), run, SETTINGS)


def test_failed_baseline_unit_is_bad_input():
    with pytest.raises(RsbenchError, match="failed in the baseline \\(boom\\)"):
        compare_snapshots(_snapshot(_unit(["failed"], status="failed")), _snapshot(_unit(["failed"])), SETTINGS)


def test_duplicate_units_are_bad_input():
    run = _snapshot(_unit(["failed"], key="a"), _unit(["failed"], key="b"), source="run-dir")
    with pytest.raises(RsbenchError, match="run-dir: unit .* appears more than once \\(unit keys a and b\\)"):
        compare_snapshots(_snapshot(_unit(["failed"])), run, SETTINGS)


def test_other_attacked_texts_are_bad_input():
    base = _unit(["failed"] * 3, texts=["one", "two", "three"])
    now = _unit(["failed"] * 3, texts=["one", "TWO", "three"])
    with pytest.raises(RsbenchError) as error:
        compare_snapshots(_snapshot(base, source="base.json"), _snapshot(now), SETTINGS)
    message = str(error.value)
    assert f"attacked example 1 has text SHA-256 {text_sha256('two')[:12]}" in message
    assert "keep the task's data, split settings and attack.examples" in message


def test_other_attacked_indices_are_bad_input():
    with pytest.raises(RsbenchError, match="the baseline attacked 3 examples and the run 2 \\(indices 2 are in only one"):
        compare_snapshots(_snapshot(_unit(["failed"] * 3)), _snapshot(_unit(["failed"] * 2)), SETTINGS)


def test_comparison_states_method_and_settings():
    unit = _unit(["failed"] * 4)
    comparison = compare_snapshots(_snapshot(unit), _snapshot(unit), GateSettings(resamples=500, seed=7, confidence=0.9))
    method = comparison.settings.method()
    assert "paired BCa bootstrap" in method
    assert "90% confidence, 500 resamples, seed 7" in method
    assert comparison.to_dict()["settings"]["tolerances"]["robust_accuracy"] == "0.02"
