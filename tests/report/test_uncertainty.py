"""Per-unit intervals and seed aggregates computed from hand-built rows and examples."""

from __future__ import annotations

import numpy as np
import pytest

from harness.report.uncertainty import UnitSample, build_aggregates, build_unit_intervals, samples_by_unit
from tests.report.conftest import build_example, build_row

TEXTS = [f"review number {index}" for index in range(40)]


def unit_examples(unit_key: str, outcomes: list[str], texts: list[str] = TEXTS):
    """Build one example per outcome; skipped examples get a wrong original prediction."""
    return [
        build_example(unit_key=unit_key, index=index, original_text=texts[index], perturbed_text=texts[index] + " x",
                      outcome=outcome, label="positive",
                      original_prediction="negative" if outcome == "skipped" else "positive")
        for index, outcome in enumerate(outcomes)
    ]


def outcomes_for(robust: int, skipped: int, total: int) -> list[str]:
    return ["failed"] * robust + ["skipped"] * skipped + ["succeeded"] * (total - robust - skipped)


def test_unit_sample_vectors():
    sample = UnitSample.of(list(reversed(unit_examples("u", ["failed", "skipped", "succeeded"]))))

    assert sample.indices == (0, 1, 2)
    assert sample.clean_correct.tolist() == [1.0, 0.0, 1.0]
    assert sample.robust_correct.tolist() == [1.0, 0.0, 0.0]


def test_unit_interval_matches_numpy():
    outcomes = outcomes_for(robust=12, skipped=8, total=40)
    rows = [build_row(unit_key="u", robust_accuracy=0.3)]
    intervals = build_unit_intervals(rows, samples_by_unit(unit_examples("u", outcomes)))

    robust = intervals["u"].robust_accuracy
    clean = intervals["u"].attacked_clean_accuracy
    assert intervals["u"].examples == 40
    assert robust.estimate == pytest.approx(0.3)
    assert clean.estimate == pytest.approx(32 / 40)
    assert robust.low < robust.estimate < robust.high
    assert clean.low < clean.estimate < clean.high
    # The bootstrap interval of a proportion is close to the normal approximation.
    half_width = 1.96 * np.sqrt(0.3 * 0.7 / 40)
    assert robust.high - robust.low == pytest.approx(2 * half_width, abs=0.06)
    assert robust.samples == 40


def test_unit_intervals_skip_failed_and_train_only(make_train_only):
    attacked = build_row(unit_key="u")
    rows = [attacked, make_train_only(attacked), build_row(unit_key="f", status="failed", error="boom")]
    examples = unit_examples("u", ["failed", "succeeded"]) + unit_examples("f", ["failed"])

    assert list(build_unit_intervals(rows, samples_by_unit(examples))) == ["u"]


def three_seed_rows():
    robust = [0.3, 0.45, 0.35]
    rows = [
        build_row(unit_key=f"u{seed}", train_key=f"t{seed}", seed=seed, robust_accuracy=value, attacked=20,
                  skipped=4, clean_accuracy=0.8 + seed / 100, train_seconds=10.0 * (seed + 1), attack_seconds=2.0,
                  attack_success_rate=0.5 + seed / 10)
        for seed, value in enumerate(robust)
    ]
    examples = []
    for seed, value in enumerate(robust):
        examples += unit_examples(f"u{seed}", outcomes_for(robust=round(value * 20), skipped=4, total=20))
    return rows, examples, robust


def test_aggregate_means_match_numpy():
    rows, examples, robust = three_seed_rows()
    [aggregate] = build_aggregates(rows, samples_by_unit(examples))

    assert aggregate.seeds == (0, 1, 2)
    assert aggregate.robust_accuracy.mean == pytest.approx(np.mean(robust))
    assert aggregate.clean_accuracy.mean == pytest.approx(np.mean([0.80, 0.81, 0.82]))
    assert aggregate.attacked_clean_accuracy.mean == pytest.approx(16 / 20)
    assert aggregate.train_seconds == pytest.approx(20.0)
    assert aggregate.attack_success_rate == pytest.approx(0.6)


def test_aggregate_intervals_contain_mean():
    rows, examples, robust = three_seed_rows()
    [aggregate] = build_aggregates(rows, samples_by_unit(examples))
    over_seeds = aggregate.robust_accuracy.over_seeds
    over_examples = aggregate.robust_accuracy.over_examples

    assert over_seeds.samples == 3
    assert over_seeds.low <= np.mean(robust) <= over_seeds.high
    assert over_seeds.low >= min(robust)
    assert over_seeds.high <= max(robust)
    assert over_examples.samples == 20
    assert over_examples.estimate == pytest.approx(np.mean(robust))
    assert over_examples.low < over_examples.estimate < over_examples.high


def test_aggregate_excludes_failed_seed():
    rows, examples, _ = three_seed_rows()
    rows[1] = build_row(unit_key="u1", train_key="t1", seed=1, status="failed", error="boom",
                        robust_accuracy=None, clean_accuracy=None)
    [aggregate] = build_aggregates(rows, samples_by_unit(examples))

    assert aggregate.seeds == (0, 2)
    assert aggregate.failed_seeds == (1,)
    assert aggregate.robust_accuracy.mean == pytest.approx(np.mean([0.3, 0.35]))


def test_aggregate_one_seed_has_no_seed_interval():
    rows = [build_row(unit_key="u", robust_accuracy=0.5, attacked=4, skipped=0)]
    examples = unit_examples("u", ["failed", "failed", "succeeded", "succeeded"])
    [aggregate] = build_aggregates(rows, samples_by_unit(examples))

    assert aggregate.robust_accuracy.over_seeds is None
    assert aggregate.robust_accuracy.note == "one seed: no interval over seeds"
    assert aggregate.robust_accuracy.over_examples.estimate == pytest.approx(0.5)


def test_aggregate_seeds_with_other_texts():
    rows, examples, _ = three_seed_rows()
    other = [f"another text {index}" for index in range(40)]
    examples = [example for example in examples if example.unit_key != "u2"]
    examples += unit_examples("u2", outcomes_for(robust=7, skipped=4, total=20), texts=other)
    [aggregate] = build_aggregates(rows, samples_by_unit(examples))

    assert aggregate.robust_accuracy.over_examples is None
    assert aggregate.robust_accuracy.note == "the seeds attacked different texts"
    assert aggregate.robust_accuracy.over_seeds is not None


def test_aggregates_group_by_variant_and_attack(make_train_only):
    first = build_row(unit_key="a", variant="baseline", attack="pwws")
    rows = [
        first,
        build_row(unit_key="b", variant="baseline", attack="deepwordbug"),
        build_row(unit_key="c", variant="adv", attack="pwws", train_key="t-adv"),
        make_train_only(build_row(unit_key="d", variant="kd", train_key="t-kd")),
    ]
    aggregates = build_aggregates(rows, {})

    assert [(aggregate.variant, aggregate.attack) for aggregate in aggregates] == [
        ("adv", "pwws"), ("baseline", "deepwordbug"), ("baseline", "pwws"), ("kd", None)]
    assert aggregates[0].robust_accuracy.over_examples is None
    assert aggregates[0].robust_accuracy.note == "no stored examples for some seeds"
    assert aggregates[3].robust_accuracy is None
    assert aggregates[3].clean_accuracy.mean == pytest.approx(0.8)


def test_aggregate_validity_means_over_seeds():
    rows = [
        build_row(unit_key="s0", seed=0, robust_accuracy_valid=0.5, valid_attack_share=0.2, mean_similarity=0.9,
                  mean_perplexity_ratio=3.0),
        build_row(unit_key="s1", seed=1, robust_accuracy_valid=0.7, valid_attack_share=0.4, mean_similarity=0.8,
                  mean_perplexity_ratio=1.0),
    ]
    [aggregate] = build_aggregates(rows, {})

    assert aggregate.robust_accuracy_valid == pytest.approx(0.6)
    assert aggregate.valid_attack_share == pytest.approx(0.3)
    assert aggregate.mean_similarity == pytest.approx(0.85)
    assert aggregate.mean_perplexity_ratio == pytest.approx(2.0)


def test_aggregate_validity_needs_every_seed_scored():
    rows = [
        build_row(unit_key="s0", seed=0, robust_accuracy_valid=0.5),
        build_row(unit_key="s1", seed=1, robust_accuracy_valid=None),
    ]
    [aggregate] = build_aggregates(rows, {})

    assert aggregate.robust_accuracy_valid is None
    assert aggregate.to_dict()["robust_accuracy_valid"] is None
