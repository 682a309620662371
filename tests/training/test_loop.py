"""The training loop: learning a separable task, determinism, batching, optimiser groups, prediction."""

from __future__ import annotations


import numpy as np
import pytest
import torch

from harness.training.heads import collate, encode_texts
from harness.training.loop import batch_indices, parameter_groups, predict, train
from harness.training.params import TrainingParams
from harness.variants import baseline
from harness.variants.params import BaselineParams
from tests.helpers import torch_threads

CPU = torch.device("cpu")
# 10 epochs of 8 steps reach a training loss near 0.035 on the 64 sentences.
SEPARABLE = TrainingParams(epochs=10, batch_size=8, learning_rate=3e-3, max_length=32)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def trained_baseline(tokenizer, data, tiny_bert):
    model = tiny_bert(seed=0)
    with torch_threads(1):
        stats = train(model, tokenizer, data, SEPARABLE, baseline.build(BaselineParams()), seed=0, device=CPU, progress=False)
    return model, stats


def test_baseline_learns_separable_data(tokenizer, data, trained_baseline):
    model, stats = trained_baseline
    predictions, rate = predict(model, tokenizer, data.texts, batch_size=16, max_length=32, device=CPU, progress=False)

    assert stats.steps == 80
    assert stats.examples_seen == 640
    assert stats.examples_per_second > 0
    assert stats.epoch_losses[0] > 0.6
    assert stats.final_loss < 0.15
    assert stats.epoch_losses[-1] < stats.epoch_losses[0] / 4
    assert (predictions == np.array(data.labels)).mean() >= 0.95
    assert rate > 0


def test_baseline_generalises_to_new_sentences(tokenizer, trained_baseline):
    model, _ = trained_baseline
    texts = ["the movie was superb", "the plot was really dreadful overall", "this film was lovely", "the acting was really boring overall"]
    predictions, _ = predict(model, tokenizer, texts, batch_size=2, max_length=32, device=CPU, progress=False)
    assert predictions.tolist() == [1, 0, 1, 0]


def test_same_seed_same_losses(tokenizer, data, tiny_bert):
    data = data.subset(list(range(32)))
    params = TrainingParams(epochs=2, batch_size=8, learning_rate=1e-3, max_length=32)
    runs = []
    for _ in range(2):
        model = tiny_bert(seed=0)
        runs.append(train(model, tokenizer, data, params, baseline.build(BaselineParams()), seed=3, device=CPU, progress=False))
    other = train(tiny_bert(seed=0), tokenizer, data, params, baseline.build(BaselineParams()), seed=4, device=CPU, progress=False)

    assert runs[0].final_loss == runs[1].final_loss
    assert runs[0].epoch_losses == runs[1].epoch_losses
    assert other.epoch_losses != runs[0].epoch_losses


def test_train_rejects_empty_data(tokenizer, data, tiny_bert):
    empty = data.subset([])
    with pytest.raises(ValueError, match="empty"):
        train(tiny_bert(), tokenizer, empty, SEPARABLE, baseline.build(BaselineParams()), seed=0, device=CPU, progress=False)


@pytest.mark.parametrize("bucket_batches", [1, 3])
def test_batch_indices_cover_each_example_once(bucket_batches):
    lengths = [5, 40, 7, 33, 12, 9, 28, 3, 17, 22, 30, 6, 11]
    batches = batch_indices(lengths, 4, torch.Generator().manual_seed(0), bucket_batches=bucket_batches)
    flat = [index for batch in batches for index in batch]
    assert sorted(flat) == list(range(len(lengths)))
    assert all(1 <= len(batch) <= 4 for batch in batches)


def test_batch_indices_bucket_by_length():
    lengths = list(range(1, 129))
    generator = torch.Generator().manual_seed(0)
    bucketed = batch_indices(lengths, 8, generator, bucket_batches=16)
    # One bucket contains all 128 examples, so each batch covers 8 consecutive lengths.
    assert all(max(lengths[i] for i in batch) - min(lengths[i] for i in batch) == 7 for batch in bucketed)
    shuffled = batch_indices(lengths, 8, torch.Generator().manual_seed(0), bucket_batches=1)
    assert sum(max(lengths[i] for i in b) for b in shuffled) > sum(max(lengths[i] for i in b) for b in bucketed)


def test_batch_indices_follow_generator_seed():
    lengths = [3] * 20
    first = batch_indices(lengths, 4, torch.Generator().manual_seed(1))
    again = batch_indices(lengths, 4, torch.Generator().manual_seed(1))
    other = batch_indices(lengths, 4, torch.Generator().manual_seed(2))
    assert first == again
    assert first != other


def test_parameter_groups_skip_bias_and_layernorm(tokenizer, tiny_bert):
    model = tiny_bert()
    decay, no_decay = parameter_groups(model, 0.01)
    names = {id(p): name for name, p in model.named_parameters()}
    decayed = {names[id(p)] for p in decay["params"]}
    not_decayed = {names[id(p)] for p in no_decay["params"]}

    assert decay["weight_decay"] == 0.01
    assert no_decay["weight_decay"] == 0.0
    assert "bert.encoder.layer.0.attention.self.query.weight" in decayed
    assert "classifier.weight" in decayed
    assert "bert.embeddings.LayerNorm.weight" in not_decayed
    assert "bert.encoder.layer.1.output.LayerNorm.weight" in not_decayed
    assert "classifier.bias" in not_decayed
    assert not any(name.endswith("bias") or "LayerNorm" in name for name in decayed)
    assert len(decayed) + len(not_decayed) == len(list(model.parameters()))


def test_collate_pads_dynamically(tokenizer):
    features = encode_texts(tokenizer, ["good", "the movie was really very good"], 32, labels=[1, 0])
    batch = collate(tokenizer, features)
    reference = tokenizer(["good", "the movie was really very good"], padding="longest", return_tensors="pt")

    assert torch.equal(batch["input_ids"], reference["input_ids"])
    assert torch.equal(batch["attention_mask"], reference["attention_mask"])
    assert torch.equal(batch["token_type_ids"], reference["token_type_ids"])
    assert batch["labels"].tolist() == [1, 0]
    assert batch["example_index"].tolist() == [0, 1]


def test_predict_keeps_input_order_and_mode(tokenizer, data, tiny_bert):
    model = tiny_bert().train()
    texts = [data.texts[0] + " and a much longer tail of words here", data.texts[1], "ok", data.texts[5]]
    predictions, _ = predict(model, tokenizer, texts, batch_size=2, max_length=32, device=CPU, progress=False)
    model.eval()
    with torch.no_grad():
        expected = [model(**tokenizer(text, return_tensors="pt")).logits.argmax(-1).item() for text in texts]
    assert predictions.tolist() == expected
    assert predictions.dtype == np.int64

    model.train()
    predict(model, tokenizer, texts, batch_size=2, max_length=32, device=CPU, progress=False)
    assert model.training


class _TwoFeatureHead(type(baseline.build(BaselineParams()).head)):
    """The classification head with every example encoded twice, as QA windows split one example."""

    def encode(self, tokenizer, data, max_length):
        features = super().encode(tokenizer, data, max_length)
        doubled = features + [dict(feature) for feature in features]
        for index, feature in enumerate(doubled):
            feature["example_index"] = index
        return doubled


def test_schedule_counts_features_not_examples(tokenizer, data, tiny_bert, monkeypatch):
    import harness.training.loop as loop

    planned = {}
    schedule = loop.get_linear_schedule_with_warmup

    def recording_schedule(optimizer, warmup_steps, total_steps):
        planned["total"] = total_steps
        return schedule(optimizer, warmup_steps, total_steps)

    monkeypatch.setattr(loop, "get_linear_schedule_with_warmup", recording_schedule)
    params = TrainingParams(epochs=2, batch_size=8, learning_rate=1e-3, max_length=32)
    objective = baseline.build(BaselineParams(), head=_TwoFeatureHead())
    stats = train(tiny_bert(), tokenizer, data, params, objective, seed=0, device=torch.device("cpu"), progress=False)

    assert stats.examples_seen == 2 * 2 * len(data)
    assert planned["total"] == stats.steps
