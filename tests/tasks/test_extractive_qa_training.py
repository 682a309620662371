"""The span head's windows and labels, each variant on a tiny QA model, and evaluation."""

from __future__ import annotations

import math

import pytest
import torch

from harness import catalog
from harness.tasks.extractive_qa import ExtractiveQATask
from harness.tasks.qa_model import MASKED_LOGIT, encode_windows, token_positions
from harness.training.heads import collate
from harness.training.loop import train
from harness.training.params import TrainingParams
from harness.variants.params import AdvParams, BaselineParams, KDParams, RegParams, RSParams
from tests.tasks.qa_fixtures import cloze_data, tiny_qa_model

CPU = torch.device("cpu")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_encode_labels_answer_tokens(tokenizer):
    data = cloze_data(4)
    features = ExtractiveQATask().head.encode(tokenizer, data, 64)
    assert len(features) == 4
    for index, feature in enumerate(features):
        tokens = feature["input_ids"][feature["start_positions"] : feature["end_positions"] + 1]
        assert tokenizer.decode(tokens) == data.gold_texts(index)[0].lower()
        assert feature["example_index"] == index


def test_long_context_splits_into_windows(tokenizer):
    data = cloze_data(3, filler=12)
    task = ExtractiveQATask(ExtractiveQATask.Settings(doc_stride=16))
    features = task.head.encode(tokenizer, data, 48)
    windows = encode_windows(tokenizer, data.questions, data.contexts, 48, 16)
    assert len(features) == len(windows.features) > 3
    assert [feature["example_index"] for feature in features] == list(range(len(features)))
    assert all(len(feature["input_ids"]) <= 48 for feature in features)
    for example in range(3):
        own = [w for w, e in enumerate(windows.example_of) if e == example]
        labelled = [w for w in own if features[w]["start_positions"] > 0]
        # The answer lies in the last window (maybe the one before too); the others point at [CLS].
        assert labelled
        assert own[-1] in labelled
        assert any(features[w]["start_positions"] == 0 for w in own)
        for w in labelled:
            ids = features[w]["input_ids"][features[w]["start_positions"] : features[w]["end_positions"] + 1]
            assert tokenizer.decode(ids) == data.gold_texts(example)[0].lower()


def test_token_positions_outside_window():
    offsets = [None, None, (0, 3), (4, 8), None]
    assert token_positions(offsets, 4, 8) == (3, 3)
    assert token_positions(offsets, 0, 8) == (2, 3)
    assert token_positions(offsets, 6, 12) == (0, 0)


def test_logits_rows_and_masking(tokenizer):
    task = ExtractiveQATask()
    model = tiny_qa_model(tokenizer)
    data = cloze_data(3).subset([0, 1])
    features = task.head.encode(tokenizer, data, 64)
    features[1]["input_ids"] = features[1]["input_ids"][:-3]
    features[1]["attention_mask"] = features[1]["attention_mask"][:-3]
    features[1]["token_type_ids"] = features[1]["token_type_ids"][:-3]
    batch = collate(tokenizer, features)
    logits = task.head.logits(model, batch)
    assert logits.shape == (2, batch["input_ids"].shape[1], 2)
    assert torch.all(logits[1, -3:] == MASKED_LOGIT)
    rows = task.head.rows(logits, batch)
    assert rows.shape == (4, batch["input_ids"].shape[1])
    assert torch.equal(rows[0], logits[0, :, 0])
    assert torch.equal(rows[3], logits[1, :, 1])
    loss = task.head.per_example_loss(logits, batch)
    assert loss.shape == (2,)
    assert torch.all(loss > 0)


@pytest.mark.parametrize(
    "kind, params",
    [("baseline", BaselineParams()), ("adv", AdvParams()), ("kd", KDParams()), ("reg", RegParams()), ("rs", RSParams())],
)
def test_variant_trains_span_head(tokenizer, kind, params):
    task = ExtractiveQATask(ExtractiveQATask.Settings(doc_stride=8))
    data = cloze_data(8, filler=4)
    teacher = tiny_qa_model(tokenizer, seed=7)
    model = tiny_qa_model(tokenizer, seed=1)
    before = model.qa_outputs.weight.detach().clone()
    objective = catalog.VARIANTS.get(kind)(params, teacher=teacher, head=task.head)
    training = TrainingParams(epochs=1, batch_size=4, learning_rate=1e-3, max_length=40)
    windows = len(task.head.encode(tokenizer, data, 40))

    stats = train(model, tokenizer, data, training, objective, seed=0, device=CPU, progress=False)

    assert windows > len(data)
    assert stats.examples_seen == windows
    assert stats.steps == math.ceil(windows / 4)
    assert math.isfinite(stats.final_loss)
    assert stats.final_loss > 0
    assert not torch.equal(before, model.qa_outputs.weight)


def test_training_learns_cloze_answers(tokenizer):
    task = ExtractiveQATask()
    data = cloze_data(16)
    model = tiny_qa_model(tokenizer, hidden=64)
    untrained = task.evaluate(model, tokenizer, data, batch_size=8, max_length=64, device=CPU, progress=False)
    objective = catalog.VARIANTS.get("baseline")(BaselineParams(), head=task.head)
    train(model, tokenizer, data, TrainingParams(epochs=30, batch_size=8, learning_rate=3e-3, max_length=64),
          objective, seed=0, device=CPU, progress=False)
    trained = task.evaluate(model, tokenizer, data, batch_size=8, max_length=64, device=CPU, progress=False)
    assert set(trained.metrics) == {"exact_match", "f1"}
    assert untrained.metrics["f1"] < 0.3
    assert trained.metrics["exact_match"] >= 0.9
    assert trained.examples_per_second > 0


def test_evaluate_finds_answer_in_later_window(tokenizer):
    """A model that only scores the answer token shows that prediction reads every window."""
    task = ExtractiveQATask(ExtractiveQATask.Settings(doc_stride=8))
    data = cloze_data(2, filler=10)
    model = tiny_qa_model(tokenizer)
    name_ids = {tokenizer.convert_tokens_to_ids(name.lower()) for name in data.gold_texts(0) + data.gold_texts(1)}

    class Oracle(torch.nn.Module):
        config = model.config

        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(1))

        def forward(self, input_ids, attention_mask, token_type_ids):
            hit = torch.isin(input_ids, torch.tensor(sorted(name_ids))) & (token_type_ids == 1)
            scores = hit.float() * 10
            return type("Output", (), {"start_logits": scores, "end_logits": scores})()

    result = task.evaluate(Oracle(), tokenizer, data, batch_size=4, max_length=40, device=CPU, progress=False)
    assert len(encode_windows(tokenizer, data.questions, data.contexts, 40, 8).features) > 2
    assert result.metrics == {"exact_match": 1.0, "f1": 1.0}
