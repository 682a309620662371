"""The reg variant's dropout settings reach the config and every dropout module."""

from __future__ import annotations

import torch

from harness.variants import reg
from harness.variants.params import RegParams


def _dropout_rates(model):
    return {name: module.p for name, module in model.named_modules() if isinstance(module, torch.nn.Dropout)}


def test_configure_model_sets_dropout_modules(tokenizer, tiny_bert):
    model = tiny_bert(dropout=0.1)
    reg.build(RegParams(hidden_dropout=0.25, attention_dropout=0.4)).configure_model(model)
    rates = _dropout_rates(model)

    assert rates["bert.embeddings.dropout"] == 0.25
    assert rates["dropout"] == 0.25
    for layer in range(2):
        assert rates[f"bert.encoder.layer.{layer}.attention.self.dropout"] == 0.4
        assert rates[f"bert.encoder.layer.{layer}.attention.output.dropout"] == 0.25
        assert rates[f"bert.encoder.layer.{layer}.output.dropout"] == 0.25
    assert set(rates.values()) == {0.25, 0.4}


def test_configure_model_sets_config_and_sdpa(tokenizer, tiny_bert):
    model = tiny_bert(dropout=0.1)
    reg.build(RegParams(hidden_dropout=0.0, attention_dropout=0.3)).configure_model(model)
    assert model.config.hidden_dropout_prob == 0.0
    assert model.config.attention_probs_dropout_prob == 0.3
    # The tiny model uses SDPA attention, which reads dropout_prob and not its dropout module.
    assert model.config._attn_implementation == "sdpa"
    assert model.bert.encoder.layer[0].attention.self.dropout_prob == 0.3


def test_zero_dropout_makes_training_deterministic(tokenizer, data, tiny_bert):
    model = tiny_bert(dropout=0.3)
    reg.build(RegParams(hidden_dropout=0.0, attention_dropout=0.0)).configure_model(model)
    model.train()
    inputs = tokenizer(list(data.texts[:4]), padding=True, return_tensors="pt")
    with torch.no_grad():
        first = model(**inputs).logits
        second = model(**inputs).logits
    assert torch.equal(first, second)
