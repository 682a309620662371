"""NER attack throughput on a tiny tagger: attacked sentences per second and model evaluations per second.

The tagger is the 2-layer, 64-wide BERT of the NER tests (MiniLM tokenizer), trained on the
synthetic person/place sentences of ``tests/tasks/conftest.py``. DeepWordBug and PWWS attack
20 other synthetic sentences with query budget 100 and success threshold 0.9, so losing one
of two entities counts. Rates are printed and stored in ``extra_info``; no test
asserts a time. Also measured: the FLOP rate of the tagger's forward passes inside the
attack as a fraction of this machine's fp32 matrix-product rate.

    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 OMP_NUM_THREADS=1 python -m pytest benchmarks/test_ner_attack.py -s --benchmark-enable
"""

from __future__ import annotations

import os

import pytest

for _name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_name, "1")

import torch  # noqa: E402

from harness.attacks.params import AttackBudget  # noqa: E402
from harness.perf import matmul_flops_per_second  # noqa: E402
from harness.tasks.ner import NerTask  # noqa: E402
from tests.tasks.conftest import build_tiny_tagger, minilm_folder, synthetic_sentences  # noqa: E402

DEVICE = torch.device(os.environ.get("RSBENCH_BENCH_DEVICE", "cpu"))
ATTACKED = 20


@pytest.fixture(scope="module")
def setup():
    from transformers import AutoTokenizer

    from harness.tasks.ner_head import TOKEN_CLASSIFICATION
    from harness.training.loop import train
    from harness.training.params import TrainingParams
    from harness.variants import baseline
    from harness.variants.params import BaselineParams

    tokenizer = AutoTokenizer.from_pretrained(minilm_folder())
    data = synthetic_sentences(80)
    model = build_tiny_tagger(tokenizer, len(data.label_names))
    params = TrainingParams(epochs=12, batch_size=16, learning_rate=3e-3, max_length=32, warmup_ratio=0.0)
    train(model, tokenizer, data, params, baseline.build(BaselineParams(), head=TOKEN_CLASSIFICATION), seed=0,
          device=DEVICE, progress=False)
    model.eval()
    return model, tokenizer, synthetic_sentences(ATTACKED, offset=1000)


@pytest.mark.parametrize("attack_name", ["deepwordbug", "pwws"])
def test_ner_attack_throughput(benchmark, setup, attack_name):
    model, tokenizer, examples = setup
    task = NerTask(NerTask.Settings(success_threshold=0.9))

    def run():
        return task.attack(model, tokenizer, attack_name, examples, budget=AttackBudget(query_budget=100), max_length=32,
                           device=DEVICE, progress=False)

    result = benchmark.pedantic(run, rounds=3, iterations=1)
    summary = result.summary
    evaluations = sum(record.model_evaluations for record in result.records)
    matmul_rate = matmul_flops_per_second(device=DEVICE)
    forward_rate = summary.model_gflop * 1e9 / summary.model_forward_seconds
    info = {
        "examples_per_second": summary.examples_per_second,
        "model_evaluations_per_second": evaluations / summary.seconds,
        "mean_model_evaluations": summary.mean_model_evaluations,
        "succeeded": summary.succeeded,
        "failed": summary.failed,
        "skipped": summary.skipped,
        "forward_share_of_time": summary.model_forward_seconds / summary.seconds,
        "forward_fraction_of_matmul_rate": forward_rate / matmul_rate,
    }
    benchmark.extra_info.update(info)
    print(attack_name, {key: round(value, 3) if isinstance(value, float) else value for key, value in info.items()})
    assert summary.attacked == ATTACKED
    assert evaluations > 0
