"""Relation-extraction attack throughput on a tiny model: examples/s and model evaluations/s.

The model is a random 2-layer BERT (hidden 32) with the MiniLM tokenizer and the entity
markers, fitted for 40 full-batch steps on 96 generated relation sentences. The sentences
put common-word pairs in the ``wordnet-relations`` templates, so no WordNet is needed.
DeepWordBug and PWWS attack 24 of them through ``RelationExtractionTask.attack``. The reference in the same run is
``run_attack`` on the same texts without the entity constraint, so the ratio is the cost
of the constraint and the per-record details. Nothing here asserts a time.

    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 OMP_NUM_THREADS=1 python -m pytest benchmarks/test_relation_extraction_attack.py -s --benchmark-enable
"""

from __future__ import annotations

import os

import pytest

for _name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_name, "1")

import torch  # noqa: E402

from harness.attacks.params import AttackBudget  # noqa: E402
from harness.attacks.resources import import_textattack  # noqa: E402
from harness.attacks.runner import run_attack  # noqa: E402
from harness.tasks.relation_extraction import RelationExtractionTask  # noqa: E402
from tests.tasks.relation_fixtures import generated_splits, tiny_relation_model, train_briefly  # noqa: E402

EXAMPLES = 24
QUERY_BUDGET = 200
ROUNDS = 3
DEVICE = os.environ.get("RSBENCH_BENCH_DEVICE", "cpu")


@pytest.fixture(scope="module")
def fitted():
    monkeypatch = pytest.MonkeyPatch()
    splits = generated_splits(monkeypatch)
    monkeypatch.undo()
    model, tokenizer = tiny_relation_model(seed=0)
    train_briefly(model, tokenizer, splits.train, steps=40)
    model.to(DEVICE)
    # Import TextAttack before timing: its first import takes 20-30 s.
    import_textattack()
    return splits.train.subset(list(range(EXAMPLES))), model, tokenizer


@pytest.mark.parametrize("attack_name", ["deepwordbug", "pwws"])
def test_relation_attack_throughput(benchmark, fitted, attack_name):
    examples, model, tokenizer = fitted
    task = RelationExtractionTask()
    budget = AttackBudget(query_budget=QUERY_BUDGET, batch_size=64)

    run = benchmark.pedantic(
        task.attack,
        args=(model, tokenizer, attack_name, examples),
        kwargs={"budget": budget, "max_length": 64, "device": DEVICE, "progress": False},
        rounds=ROUNDS,
        iterations=1,
    )
    seconds = benchmark.stats.stats.median
    _, plain = run_attack(model, tokenizer, attack_name, examples, query_budget=QUERY_BUDGET, batch_size=64, max_length=64,
                          device=DEVICE, progress=False)

    evaluations = sum(record.model_evaluations for record in run.records)
    assert run.summary.attacked == EXAMPLES
    assert run.summary.succeeded + run.summary.failed > 0
    benchmark.extra_info.update(
        device=DEVICE,
        attack=attack_name,
        examples=EXAMPLES,
        succeeded=run.summary.succeeded,
        failed=run.summary.failed,
        skipped=run.summary.skipped,
        examples_per_second=EXAMPLES / seconds,
        model_evaluations_per_second=evaluations / seconds,
        mean_model_evaluations=run.summary.mean_model_evaluations,
        unconstrained_examples_per_second=plain.examples_per_second,
        unconstrained_mean_model_evaluations=plain.mean_model_evaluations,
        torch_threads=torch.get_num_threads(),
    )
    print(f"\n{attack_name}: {EXAMPLES / seconds:.2f} examples/s, {evaluations / seconds:.0f} model evaluations/s; "
          f"without the entity constraint {plain.examples_per_second:.2f} examples/s "
          f"({run.summary.mean_model_evaluations:.1f} vs {plain.mean_model_evaluations:.1f} evaluations per example)")
