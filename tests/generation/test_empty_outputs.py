"""Generation tasks on a model whose first generated token is always the end-of-turn token."""

from __future__ import annotations

import dataclasses
import math

import pytest

from harness.attacks.params import AttackBudget
from harness.generation.decoding import Decoding
from harness.generation.prompts import end_of_turn_id
from harness.generation.task import DialogueTask, SummarizationTask, TranslationTask


@pytest.fixture(scope="module")
def silent_llama():
    from tests.generation.conftest import build_tiny_llama

    model, tokenizer = build_tiny_llama(seed=5)
    end = end_of_turn_id(tokenizer)

    def force_end(module, inputs, logits):
        logits = logits.clone()
        logits[..., end] += 1e4
        return logits

    model.lm_head.register_forward_hook(force_end)
    return model.eval(), tokenizer


@pytest.mark.parametrize("task_class", [TranslationTask, SummarizationTask, DialogueTask])
def test_empty_outputs_score_zero(silent_llama, pairs, task_class):
    model, tokenizer = silent_llama
    task = task_class(task_class.Settings(decoding=Decoding(max_new_tokens=1)))

    outputs = task.generator(model, tokenizer, batch_size=2, device="cpu")(list(pairs.sources))
    evaluation = task.evaluate(model, tokenizer, pairs, batch_size=2, max_length=64, device="cpu", progress=False)

    assert outputs == [""] * len(pairs)
    assert set(evaluation.metrics) == set(task.metric_names)
    for name, value in evaluation.metrics.items():
        assert value == 0.0, name


@pytest.mark.parametrize("attack_name", ["seq2seq-chars", "seq2seq-wordnet", "nonoverlap-wordnet"])
def test_empty_outputs_skip_every_attack(silent_llama, pairs, attack_name):
    model, tokenizer = silent_llama
    task = TranslationTask(TranslationTask.Settings(decoding=Decoding(max_new_tokens=4)))
    budget = AttackBudget(examples=len(pairs), query_budget=8, batch_size=2)

    run = task.attack(model, tokenizer, attack_name, pairs, budget=budget, max_length=64, device="cpu", progress=False)

    assert [record.outcome for record in run.records] == ["skipped"] * len(pairs)
    assert run.summary.attacked == len(pairs)
    assert run.summary.attack_success_rate == 0.0
    for name, value in dataclasses.asdict(run.summary).items():
        assert not math.isnan(value), name
    for metrics in (run.robust_metrics, run.attacked_clean_metrics):
        assert all(value == 0.0 and not math.isnan(value) for value in metrics.values()), metrics
