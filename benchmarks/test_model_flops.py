"""Training and evaluation throughput as a fraction of this machine's matrix-product rate.

The rate is measured in the same run (fp32, 2048 x 2048 products, torch's default
thread count; ``RSBENCH_BENCH_DEVICE=cuda`` measures the GPU instead). Model FLOPs per
example are counted from the configuration and the real
(unpadded) token counts: per layer and token ``2 * (4 h^2 + 2 h i)`` for the projections
and the feed-forward block, plus ``4 * n * h`` for attention scores and the weighted sum
over a sequence of ``n`` tokens. A training step costs three forward passes (forward,
backward for activations and for weights).
"""

from __future__ import annotations

import os

import pytest
import torch

from harness.perf import forward_flops, matmul_flops_per_second
from harness.suite import ModelSpec, PackagedData
from harness.tasks.classification import ClassificationTask
from harness.training.loop import predict, train
from harness.training.params import TrainingParams
from harness.variants.baseline import build as build_baseline
from harness.variants.params import BaselineParams

MAX_LENGTH = 64
DEVICE = os.environ.get("RSBENCH_BENCH_DEVICE", "cpu")


@pytest.fixture(scope="module")
def setup():
    from harness.models import load_classifier

    spec = PackagedData(source="packaged", name="rotten-tomatoes", train_size=256, test_size=512)
    splits, _ = ClassificationTask().load_splits(spec)
    model_spec = ModelSpec(source="packaged", name="all-MiniLM-L6-v2", keep_layers="every-other")
    model, tokenizer = load_classifier(model_spec, splits.train.label_names, seed=0)
    return splits, model.to(DEVICE), tokenizer


def _tokens(tokenizer, texts) -> list[int]:
    return [len(ids) for ids in tokenizer(list(texts), truncation=True, max_length=MAX_LENGTH)["input_ids"]]


def test_evaluation_flop_fraction(benchmark, setup):
    splits, model, tokenizer = setup
    rate = matmul_flops_per_second(device=DEVICE)
    device = torch.device(DEVICE)
    texts = splits.test.texts

    def run():
        return predict(model, tokenizer, texts, batch_size=128, max_length=MAX_LENGTH, device=device, progress=False)

    _, examples_per_second = benchmark.pedantic(run, rounds=3, iterations=1)
    # predict runs BERT classifiers through cls_logits, which skips most of the last layer.
    per_example = forward_flops(model.config, _tokens(tokenizer, texts), last_layer_first_token_only=True) / len(texts)
    fraction = examples_per_second * per_example / rate
    benchmark.extra_info.update({"matmul_gflops": rate / 1e9, "examples_per_second": examples_per_second,
                                 "model_gflops_per_example": per_example / 1e9, "fraction_of_matmul_rate": fraction})
    print(f"\nevaluation: {examples_per_second:.0f} examples/s, {per_example / 1e9:.3f} GFLOP/example, "
          f"matmul {rate / 1e9:.0f} GFLOP/s, fraction {fraction:.2f}")
    assert 0.0 < fraction < 1.5


def test_training_flop_fraction(benchmark, setup):
    splits, model, tokenizer = setup
    rate = matmul_flops_per_second(device=DEVICE)
    params = TrainingParams(epochs=1, batch_size=32, max_length=MAX_LENGTH, learning_rate=1e-4)

    def run():
        return train(model, tokenizer, splits.train, params, build_baseline(BaselineParams()), seed=0,
                     device=torch.device(DEVICE), progress=False)

    stats = benchmark.pedantic(run, rounds=1, iterations=1)
    per_example = 3 * forward_flops(model.config, _tokens(tokenizer, splits.train.texts)) / len(splits.train)
    fraction = stats.examples_per_second * per_example / rate
    benchmark.extra_info.update({"matmul_gflops": rate / 1e9, "examples_per_second": stats.examples_per_second,
                                 "model_gflops_per_example": per_example / 1e9, "fraction_of_matmul_rate": fraction})
    print(f"\ntraining: {stats.examples_per_second:.0f} examples/s, {per_example / 1e9:.3f} GFLOP/example, "
          f"matmul {rate / 1e9:.0f} GFLOP/s, fraction {fraction:.2f}")
    assert 0.0 < fraction < 1.5
