"""Every variant trains one epoch of the tiny model through the real loop."""

from __future__ import annotations

import importlib.util
import math

import pytest
import torch

from harness.training.loop import train
from harness.training.params import TrainingParams
from harness.variants import a2t, adv, baseline, kd, reg, rs
from harness.variants.params import A2TParams, AdvParams, BaselineParams, KDParams, RegParams, RSParams

CPU = torch.device("cpu")
ONE_EPOCH = TrainingParams(epochs=1, batch_size=16, learning_rate=1e-3, max_length=32)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _suffix_generator(calls):
    """A stand-in for generate_adversarial_examples: every other text gets a suffix, the rest fail."""

    def generate(model, tokenizer, texts, labels, **options):
        calls.append({"texts": list(texts), "labels": list(labels), "training": model.training, **options})
        return [f"{text} i think" if index % 2 == 0 else None for index, text in enumerate(texts)]

    return generate


@pytest.mark.parametrize(
    "module, params",
    [
        (baseline, BaselineParams()),
        (adv, AdvParams()),
        (adv, AdvParams(norm="linf", epsilon=0.01, step_size=0.005)),
        (kd, KDParams()),
        (reg, RegParams()),
        (rs, RSParams()),
    ],
    ids=["baseline", "adv-l2", "adv-linf", "kd", "reg", "rs"],
)
def test_variant_trains_one_epoch(tokenizer, data, module, params, tiny_bert):
    teacher = tiny_bert(seed=7)
    model = tiny_bert(seed=1)
    before = model.classifier.weight.detach().clone()

    stats = train(model, tokenizer, data, ONE_EPOCH, module.build(params, teacher=teacher), seed=0, device=CPU, progress=False)

    assert stats.steps == 4
    assert stats.examples_seen == 64
    assert len(stats.epoch_losses) == 1
    assert math.isfinite(stats.final_loss)
    assert stats.final_loss > 0
    assert not torch.equal(before, model.classifier.weight)


def test_a2t_adds_adversarial_examples(tokenizer, data, tiny_bert):
    calls = []
    params = A2TParams(fraction=0.25, start_epoch=1, query_budget=7, weight=0.5)
    objective = a2t.build(params, generator=_suffix_generator(calls))
    training = TrainingParams(epochs=2, batch_size=16, learning_rate=1e-3, max_length=32, eval_batch_size=20)

    stats = train(tiny_bert(), tokenizer, data, training, objective, seed=0, device=CPU, progress=False)

    assert len(calls) == 1
    assert len(calls[0]["texts"]) == 16
    assert calls[0]["query_budget"] == 7
    assert calls[0]["batch_size"] == 20
    assert calls[0]["max_length"] == 32
    assert calls[0]["attack_name"] == "a2t-fast"
    # Epoch 0 trains on the 64 originals, epoch 1 on them plus 8 adversarial examples.
    assert stats.examples_seen == 64 + 72
    assert stats.steps == 4 + 5
    for text, label in zip(calls[0]["texts"], calls[0]["labels"]):
        assert label == data.labels[data.texts.index(text)]


def test_a2t_weights_only_adversarial_examples(data):
    objective = a2t.build(A2TParams(weight=0.25, start_epoch=0), generator=lambda *args, **kwargs: ["x"] * len(args[2]))
    objective._original_size = len(data)
    weights = objective.example_weights({"example_index": torch.tensor([0, 63, 64, 70])})
    assert weights.tolist() == [1.0, 1.0, 0.25, 0.25]


def test_a2t_rejects_wrong_result_count(tokenizer, data, tiny_bert):
    objective = a2t.build(A2TParams(start_epoch=0), generator=lambda *args, **kwargs: ["only one"])
    with pytest.raises(ValueError, match="returned 1 results"):
        train(tiny_bert(), tokenizer, data, ONE_EPOCH, objective, seed=0, device=CPU, progress=False)


@pytest.mark.slow
def test_a2t_with_textattack_generator(tokenizer, data, tiny_bert):
    if importlib.util.find_spec("harness.attacks.runner") is None:
        pytest.skip("harness.attacks.runner is not available")
    model = tiny_bert()
    # A model that already separates the classes, so that the attack has predictions to flip.
    separable = TrainingParams(epochs=10, batch_size=8, learning_rate=3e-3, max_length=32)
    train(model, tokenizer, data, separable, baseline.build(BaselineParams()), seed=0, device=CPU, progress=False)

    params = A2TParams(fraction=0.25, start_epoch=0, query_budget=100)
    stats = train(model, tokenizer, data, ONE_EPOCH, a2t.build(params), seed=0, device=CPU, progress=False)

    # 16 examples are attacked; on this model and seed the attack succeeds on about half.
    assert 64 < stats.examples_seen <= 80
    assert math.isfinite(stats.final_loss)
