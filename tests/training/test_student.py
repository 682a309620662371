"""derive_student keeps the chosen encoder layers of a BERT-family model."""

from __future__ import annotations

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification, GPT2Config, GPT2LMHeadModel

from harness.training.student import derive_student


@pytest.fixture()
def teacher():
    torch.manual_seed(0)
    config = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=6, num_attention_heads=2, intermediate_size=64, num_labels=3)
    return BertForSequenceClassification(config).eval()


def test_student_keeps_chosen_layers(teacher):
    student = derive_student(teacher, [0, 2, 4])

    assert student.config.num_hidden_layers == 3
    assert len(student.bert.encoder.layer) == 3
    assert teacher.config.num_hidden_layers == 6
    assert len(teacher.bert.encoder.layer) == 6
    for position, source in enumerate([0, 2, 4]):
        kept = student.bert.encoder.layer[position].state_dict()
        original = teacher.bert.encoder.layer[source].state_dict()
        assert kept.keys() == original.keys()
        for key in kept:
            assert torch.equal(kept[key], original[key]), key
    assert torch.equal(student.classifier.weight, teacher.classifier.weight)
    assert torch.equal(student.bert.embeddings.word_embeddings.weight, teacher.bert.embeddings.word_embeddings.weight)


def test_student_is_independent_copy(teacher):
    student = derive_student(teacher, [1, 3])
    with torch.no_grad():
        student.bert.encoder.layer[0].output.dense.weight.zero_()
    assert teacher.bert.encoder.layer[1].output.dense.weight.abs().sum() > 0


def test_student_forward_runs(teacher):
    student = derive_student(teacher, [0, 5]).eval()
    input_ids = torch.tensor([[1, 5, 9, 2, 0], [1, 7, 2, 0, 0]])
    mask = (input_ids != 0).long()
    with torch.no_grad():
        outputs = student(input_ids=input_ids, attention_mask=mask, output_hidden_states=True)
    assert outputs.logits.shape == (2, 3)
    # Embedding output plus one hidden state per kept layer.
    assert len(outputs.hidden_states) == 3


def test_single_layer_student_matches_manual_forward(tokenizer, tiny_bert):
    model = tiny_bert(dropout=0.0).eval()
    student = derive_student(model, [1]).eval()
    inputs = tokenizer(["the movie was good"], return_tensors="pt")
    with torch.no_grad():
        hidden = model.bert.embeddings(input_ids=inputs["input_ids"], token_type_ids=inputs["token_type_ids"])
        extended = model.get_extended_attention_mask(inputs["attention_mask"], inputs["input_ids"].shape)
        hidden = model.bert.encoder.layer[1](hidden, attention_mask=extended)[0]
        expected = model.classifier(model.bert.pooler(hidden))
        actual = student(**inputs).logits
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("keep, message", [([0, 6], "invalid layer index 6"), ([-1], "invalid layer index -1"), ([1, 1], "appears twice"), ([], "empty")])
def test_student_rejects_bad_indices(teacher, keep, message):
    with pytest.raises(ValueError, match=message):
        derive_student(teacher, keep)


def test_student_rejects_non_bert_model():
    model = GPT2LMHeadModel(GPT2Config(vocab_size=50, n_embd=16, n_layer=2, n_head=2, n_positions=32))
    with pytest.raises(ValueError, match="BERT-style encoder"):
        derive_student(model, [0])
