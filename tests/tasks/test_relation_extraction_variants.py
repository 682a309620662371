"""Every registered variant trains a tiny relation model through the real loop, A2T with mention-keeping attacks."""

from __future__ import annotations

import math

import pytest
import torch

from harness import catalog
from harness.tasks.relation_extraction import RelationExtractionTask
from harness.tasks.relation_mentions import find_mentions
from harness.training.loop import train
from harness.training.params import TrainingParams
from harness.variants.params import A2TParams, AdvParams, BaselineParams, KDParams, RegParams, RSParams
from tests.tasks.relation_fixtures import generated_splits, tiny_relation_model, train_briefly

CPU = torch.device("cpu")
ONE_EPOCH = TrainingParams(epochs=1, batch_size=16, learning_rate=1e-3, max_length=48)
TASK = RelationExtractionTask()


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture
def splits(monkeypatch):
    return generated_splits(monkeypatch, {"train": 48, "dev": 6, "test": 12})


@pytest.mark.parametrize(
    "kind, params",
    [("baseline", BaselineParams()), ("adv", AdvParams()), ("kd", KDParams()), ("reg", RegParams()), ("rs", RSParams())],
)
def test_variant_trains_one_epoch(splits, kind, params):
    teacher, _ = tiny_relation_model(seed=7)
    model, tokenizer = tiny_relation_model(seed=1)
    before = model.classifier.weight.detach().clone()
    objective = catalog.VARIANTS.get(kind)(params, teacher=teacher, head=TASK.head)

    stats = train(model, tokenizer, splits.train, ONE_EPOCH, objective, seed=0, device=CPU, progress=False)

    assert stats.steps == 3
    assert stats.examples_seen == 48
    assert math.isfinite(stats.final_loss)
    assert stats.final_loss > 0
    assert not torch.equal(before, model.classifier.weight)


def test_a2t_examples_keep_mentions(splits):
    from harness.attacks.runner import generate_adversarial_examples

    calls = []

    def recording_generator(model, tokenizer, texts, labels, **options):
        found = generate_adversarial_examples(model, tokenizer, texts, labels, **options)
        calls.append({"texts": list(texts), "found": found, "options": options})
        return found

    model, tokenizer = tiny_relation_model(seed=1)
    # A fitted model gets examples right, so the attack has predictions to flip from the first epoch.
    train_briefly(model, tokenizer, splits.train, steps=40)
    params = A2TParams(attack="deepwordbug", fraction=0.25, start_epoch=0, query_budget=60)
    objective = catalog.VARIANTS.get("adv-a2t")(params, head=TASK.head, generator=recording_generator)
    training = TrainingParams(epochs=1, batch_size=16, learning_rate=1e-3, max_length=48)

    stats = train(model, tokenizer, splits.train, training, objective, seed=0, device=CPU, progress=False)

    assert len(calls) == 1
    constraints = calls[0]["options"]["pre_transformation_constraints"]
    assert [type(constraint).__name__ for constraint in constraints] == ["EntityMentionsUnchanged"]
    found = [(text, adversarial) for text, adversarial in zip(calls[0]["texts"], calls[0]["found"]) if adversarial is not None]
    assert found, "the attack found no adversarial example to check"
    for text, adversarial in found:
        assert adversarial != text
        assert find_mentions(adversarial).marked(adversarial) == find_mentions(text).marked(text)
    assert stats.examples_seen == 48 + len(found)
