"""Extractive QA attack throughput: examples/s and model evaluations/s of deepwordbug, pwws and addsent.

The victim is a tiny 2-layer BERT (hidden 64, MiniLM tokenizer) trained for 30 epochs on 16
synthetic cloze questions ("Race in Lisbon won by @placeholder after a long day" over "The
race in Lisbon ... was won by Alice ..."), which it then answers correctly, so the attacks
search instead of skipping. Each attack runs over the same 16 questions with a query budget
of 200; the rates come from the median of the rounds and are reported, not asserted.

    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 OMP_NUM_THREADS=1 python -m pytest benchmarks/test_extractive_qa_attack.py -s --benchmark-enable
"""

from __future__ import annotations

import os

import pytest

for _name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_name, "1")

import torch  # noqa: E402

from harness import catalog  # noqa: E402
from harness.attacks.params import AttackBudget  # noqa: E402
from harness.tasks.extractive_qa import ExtractiveQATask  # noqa: E402
from harness.training.loop import train  # noqa: E402
from harness.training.params import TrainingParams  # noqa: E402
from harness.variants.params import BaselineParams  # noqa: E402
from tests.tasks.qa_fixtures import cloze_data, tiny_qa_model  # noqa: E402
from tests.tiny_models import minilm_folder  # noqa: E402

EXAMPLES = 16
QUERY_BUDGET = 200
ROUNDS = 3
DEVICE = torch.device(os.environ.get("RSBENCH_BENCH_DEVICE", "cpu"))


@pytest.fixture(scope="module")
def victim():
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(minilm_folder())
    task = ExtractiveQATask()
    data = cloze_data(EXAMPLES)
    model = tiny_qa_model(tokenizer, hidden=64)
    objective = catalog.VARIANTS.get("baseline")(BaselineParams(), head=task.head)
    train(model, tokenizer, data, TrainingParams(epochs=30, batch_size=8, learning_rate=3e-3, max_length=64), objective,
          seed=0, device=DEVICE, progress=False)
    clean = task.evaluate(model, tokenizer, data, batch_size=64, max_length=64, device=DEVICE, progress=False)
    assert clean.metrics["f1"] >= 0.9, "the victim must answer the questions for the attacks to search"
    return task, model, tokenizer, data


@pytest.mark.parametrize("attack_name", ["deepwordbug", "pwws", "addsent"])
def test_extractive_qa_attack_throughput(benchmark, victim, attack_name):
    task, model, tokenizer, data = victim
    budget = AttackBudget(query_budget=QUERY_BUDGET, batch_size=64)

    def run():
        return task.attack(model, tokenizer, attack_name, data, budget=budget, max_length=64, device=DEVICE, progress=False)

    result = benchmark.pedantic(run, rounds=ROUNDS, iterations=1)
    seconds = benchmark.stats.stats.median
    evaluations = sum(record.model_evaluations for record in result.records)
    summary = result.summary
    assert summary.attacked == EXAMPLES
    assert summary.succeeded + summary.failed > 0
    benchmark.extra_info.update(
        examples_per_second=EXAMPLES / seconds,
        model_evaluations_per_second=evaluations / seconds,
        succeeded=summary.succeeded,
        failed=summary.failed,
        skipped=summary.skipped,
        robust_f1=result.robust_metrics["f1"],
    )
    print(f"\n{attack_name}: {EXAMPLES / seconds:.2f} examples/s, {evaluations / seconds:.1f} model evaluations/s, "
          f"{summary.succeeded} succeeded, {summary.failed} failed, {summary.skipped} skipped, "
          f"robust F1 {result.robust_metrics['f1']:.3f} (clean {result.attacked_clean_metrics['f1']:.3f})")
