"""run_attack against TextAttack's own Attacker and HuggingFaceModelWrapper."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from harness.attacks.resources import import_textattack
from harness.attacks.runner import AttackSummary, ExampleRecord, generate_adversarial_examples, run_attack, summarize

textattack = import_textattack()


def attacker_results(model, tokenizer, attack_name, examples, query_budget):
    """Attack with the stock wrapper and TextAttack's Attacker, as a TextAttack user would."""
    from harness.attacks.recipes import build_attack

    wrapper = textattack.models.wrappers.HuggingFaceModelWrapper(model, tokenizer)
    attack = build_attack(attack_name, wrapper, query_budget=query_budget)
    dataset = textattack.datasets.Dataset(list(zip(examples.texts, examples.labels)))
    args = textattack.AttackArgs(num_examples=len(examples), silent=True, disable_stdout=True, random_seed=765)
    return textattack.Attacker(attack, dataset, args).attack_dataset()


def outcome_of(result) -> str:
    return {
        "SkippedAttackResult": "skipped",
        "SuccessfulAttackResult": "succeeded",
        "FailedAttackResult": "failed",
    }[type(result).__name__]


@pytest.mark.slow
@pytest.mark.parametrize("attack_name", ["deepwordbug", "pwws"])
def test_run_attack_matches_attacker(classifier, tokenizer, examples, attack_name):
    records, summary = run_attack(classifier, tokenizer, attack_name, examples, query_budget=200, progress=False)
    reference = attacker_results(classifier, tokenizer, attack_name, examples, query_budget=200)

    assert [record.outcome for record in records] == [outcome_of(result) for result in reference]
    assert [record.perturbed_text for record in records] == [r.perturbed_result.attacked_text.text for r in reference]
    assert [record.queries for record in records] == [r.perturbed_result.num_queries for r in reference]
    assert summary.succeeded >= 1, "the tiny model should be fooled at least once"
    assert summary.attacked == len(examples)


@pytest.mark.slow
def test_run_attack_counts_and_metrics(classifier, tokenizer, examples):
    records, summary = run_attack(classifier, tokenizer, "deepwordbug", examples, query_budget=200, progress=False)

    assert summary.succeeded + summary.failed + summary.skipped == len(examples)
    assert summary.robust_accuracy == pytest.approx(summary.failed / len(examples))
    searched = summary.succeeded + summary.failed
    assert summary.attack_success_rate == pytest.approx(summary.succeeded / searched)
    for record in records:
        assert record.queries <= 200
        assert 0 <= record.model_evaluations <= record.queries
        if record.outcome == "succeeded":
            assert record.perturbed_prediction != record.label
            assert record.words_changed >= 1
            assert record.perturbed_word_fraction == pytest.approx(record.words_changed / record.words_total)
        if record.outcome == "skipped":
            assert record.original_prediction != record.label
            assert record.perturbed_text == record.original_text


@pytest.mark.slow
def test_run_attack_is_repeatable(classifier, tokenizer, examples):
    random.seed(1)
    state_before = (random.random(), np.random.get_state()[1][0], torch.initial_seed())
    random.seed(1)
    first, _ = run_attack(classifier, tokenizer, "deepwordbug", examples.subset([0, 1, 8, 9]), query_budget=100, progress=False)
    assert (random.random(), np.random.get_state()[1][0], torch.initial_seed()) == state_before
    second, _ = run_attack(classifier, tokenizer, "deepwordbug", examples.subset([0, 1, 8, 9]), query_budget=100, progress=False)
    assert [record.perturbed_text for record in first] == [record.perturbed_text for record in second]


@pytest.mark.slow
def test_generate_adversarial_restores_mode(classifier, tokenizer, examples):
    classifier.train()
    try:
        texts = generate_adversarial_examples(
            classifier, tokenizer, examples.texts[:4], examples.labels[:4], attack_name="deepwordbug", progress=False
        )
        assert classifier.training
    finally:
        classifier.eval()
    assert len(texts) == 4
    for text, original in zip(texts, examples.texts[:4]):
        assert text is None or text != original


def record(outcome: str, fraction: float = 0.0, evaluations: int = 0, queries: int = 0) -> ExampleRecord:
    return ExampleRecord(0, "a", "b", 1, 1, 0, outcome, 1, 4, fraction, evaluations, queries)


def test_summarize_counts_skipped_as_wrong():
    summary = summarize([record("succeeded", 0.25, 10, 20), record("failed", 0.5, 30, 40), record("skipped")], 2.0)
    assert summary == AttackSummary(
        attacked=3,
        skipped=1,
        succeeded=1,
        failed=1,
        robust_accuracy=pytest.approx(1 / 3),
        attack_success_rate=0.5,
        mean_perturbed_word_fraction=0.25,
        mean_model_evaluations=20.0,
        mean_queries=30.0,
        seconds=2.0,
        examples_per_second=1.5,
    )


def test_summarize_without_attacks_is_zero():
    summary = summarize([record("skipped")], 1.0)
    assert summary.attack_success_rate == 0.0
    assert summary.robust_accuracy == 0.0
