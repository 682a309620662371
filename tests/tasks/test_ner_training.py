"""NER head: word-piece label alignment, padding, loss and rows; every supported variant trains; evaluation."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from harness import catalog
from harness.tasks.ner import NerTask
from harness.tasks.ner_data import TaggedSentences
from harness.tasks.ner_head import TOKEN_CLASSIFICATION, encode_words, predict_tags, words_in_window
from harness.training.heads import LABEL_PAD, collate
from harness.training.loop import train
from harness.training.params import TrainingParams
from harness.variants.params import AdvParams, BaselineParams, KDParams, RegParams, RSParams
from tests.tasks.conftest import build_tiny_tagger, synthetic_sentences

CPU = torch.device("cpu")


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_labels_on_first_word_piece(tokenizer):
    words = ["Empire", "Stateville", "rocks"]
    pieces = tokenizer.tokenize("stateville")
    assert len(pieces) > 1  # the test needs a word of several pieces

    feature = encode_words(tokenizer, [words], 32, tags=[[1, 2, 0]])[0]

    labels = feature["labels"]
    tokens = tokenizer.convert_ids_to_tokens(feature["input_ids"])
    assert tokens[0] == "[CLS]"
    assert labels[0] == LABEL_PAD
    assert tokens[-1] == "[SEP]"
    assert labels[-1] == LABEL_PAD
    assert [label for label in labels if label != LABEL_PAD] == [1, 2, 0]
    assert labels[2] == 2
    assert labels[3 : 2 + len(pieces)] == [LABEL_PAD] * (len(pieces) - 1)


def test_collate_pads_labels(tokenizer):
    data = TaggedSentences((("a", "b", "c", "d"), ("e",)), (("O",) * 4, ("B-X",)), ("O", "B-X", "I-X"))
    features = TOKEN_CLASSIFICATION.encode(tokenizer, data, 32)

    batch = collate(tokenizer, features)

    assert batch["labels"].shape == batch["input_ids"].shape
    assert batch["labels"][1].tolist() == [LABEL_PAD, 1, LABEL_PAD, LABEL_PAD, LABEL_PAD, LABEL_PAD]
    assert batch["example_index"].tolist() == [0, 1]


def test_loss_is_mean_over_labelled_positions():
    logits = torch.randn(2, 5, 3)
    labels = torch.tensor([[LABEL_PAD, 1, 2, LABEL_PAD, LABEL_PAD], [LABEL_PAD, 0, LABEL_PAD, LABEL_PAD, LABEL_PAD]])
    batch = {"labels": labels}

    losses = TOKEN_CLASSIFICATION.per_example_loss(logits, batch)
    rows = TOKEN_CLASSIFICATION.rows(logits, batch)

    first = (F.cross_entropy(logits[0, 1:2], labels[0, 1:2]) + F.cross_entropy(logits[0, 2:3], labels[0, 2:3])) / 2
    assert losses[0].item() == pytest.approx(first.item(), rel=1e-5)
    assert losses[1].item() == pytest.approx(F.cross_entropy(logits[1, 1:2], labels[1, 1:2]).item(), rel=1e-5)
    assert rows.shape == (3, 3)
    assert torch.equal(rows[2], logits[1, 1])


def test_words_beyond_window_predicted_outside(tokenizer):
    words = ["paris"] * 40
    model = build_tiny_tagger(tokenizer, 3)
    with torch.no_grad():
        model.classifier.bias.copy_(torch.tensor([-5.0, 5.0, -5.0]))  # every read word becomes B-X

    tags, rate = predict_tags(model, tokenizer, [words], ("O", "B-X", "I-X"), batch_size=4, max_length=12, device=CPU)

    window = words_in_window(tokenizer, words, 12)
    assert window == 10
    assert tags[0][:window] == ["B-X"] * window
    assert tags[0][window:] == ["O"] * (40 - window)
    assert rate > 0


def test_registry_lists_ner():
    entry = catalog.TASKS.entry("ner")

    assert entry.meta("headline") == "entity_f1"
    assert "adv-a2t" not in entry.meta("variants")
    assert set(entry.meta("attacks")) == {"deepwordbug", "pwws"}
    assert catalog.TASKS.get("ner") is NerTask


@pytest.mark.parametrize(
    "kind, params",
    [
        ("baseline", BaselineParams()),
        ("adv", AdvParams()),
        ("kd", KDParams()),
        ("reg", RegParams()),
        ("rs", RSParams()),
    ],
)
def test_variant_trains_tagger(tokenizer, kind, params):
    data = synthetic_sentences(32)
    teacher = build_tiny_tagger(tokenizer, len(data.label_names), seed=7, dropout=0.1)
    model = build_tiny_tagger(tokenizer, len(data.label_names), seed=1, dropout=0.1)
    before = model.classifier.weight.detach().clone()
    objective = catalog.VARIANTS.get(kind)(params, teacher=teacher, head=NerTask.head)

    stats = train(model, tokenizer, data, TrainingParams(epochs=1, batch_size=16, learning_rate=1e-3, max_length=32),
                  objective, seed=0, device=CPU, progress=False)

    assert stats.steps == 2
    assert math.isfinite(stats.final_loss)
    assert stats.final_loss > 0
    assert not torch.equal(before, model.classifier.weight)


def test_evaluate_trained_tagger(tokenizer, trained_tagger):
    test = synthetic_sentences(20, offset=1000)

    evaluation = NerTask().evaluate(trained_tagger, tokenizer, test, batch_size=8, max_length=32, device=CPU,
                                    progress=False)

    assert evaluation.metrics["entity_f1"] > 0.9
    assert set(evaluation.metrics) >= {"entity_precision", "entity_recall", "entity_f1", "f1.person", "f1.place"}
    assert all(0.0 <= value <= 1.0 for value in evaluation.metrics.values())
    assert evaluation.examples_per_second > 0


def test_evaluate_untrained_tagger_scores_low(tokenizer):
    test = synthetic_sentences(20, offset=1000)
    model = build_tiny_tagger(tokenizer, len(test.label_names), seed=3)

    evaluation = NerTask().evaluate(model, tokenizer, test, batch_size=8, max_length=32, device=CPU, progress=False)

    assert evaluation.metrics["entity_f1"] < 0.3
