"""Loading causal LMs, LoRA, and safetensors checkpoints through harness.models."""

from __future__ import annotations

import pytest
import torch

from harness.errors import RsbenchError
from harness.generation.models import apply_fine_tuning
from harness.models import load_checkpoint, load_classifier, save_checkpoint
from harness.suite import ModelSpec

TINY = ModelSpec(source="random", architecture={"num_hidden_layers": 2, "hidden_size": 32, "intermediate_size": 64})


def _logits(model, tokenizer, text="the cat sleeps on the mat"):
    model.eval()
    with torch.no_grad():
        return model(**tokenizer(text, return_tensors="pt")).logits


def test_load_classifier_builds_random_llama():
    model, tokenizer = load_classifier(TINY, (), seed=0, head="causal-lm")
    assert type(model).__name__ == "LlamaForCausalLM"
    assert model.config.num_hidden_layers == 2
    assert model.config.vocab_size == len(tokenizer) == 49152
    assert tokenizer.pad_token == "<|im_end|>"
    again, _ = load_classifier(TINY, (), seed=0, head="causal-lm")
    torch.testing.assert_close(_logits(model, tokenizer), _logits(again, tokenizer), atol=0, rtol=0)


def test_lora_defaults_train_only_adapters():
    model, _ = load_classifier(TINY, (), seed=0, head="causal-lm")
    lora = apply_fine_tuning(model)
    trainable = [name for name, parameter in lora.named_parameters() if parameter.requires_grad]
    assert trainable
    assert all("lora_" in name for name in trainable)
    assert {name.split(".")[-4] for name in trainable} == {"q_proj", "k_proj", "v_proj", "o_proj"}
    config = lora.peft_config["default"]
    assert (config.r, config.lora_alpha, config.lora_dropout) == (8, 16, 0.05)


def test_lora_checkpoint_round_trip(tmp_path):
    model, tokenizer = load_classifier(TINY, (), seed=0, head="causal-lm")
    lora = apply_fine_tuning(model, lora_rank=4)
    with torch.no_grad():
        for name, parameter in lora.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0.0, 0.5)  # peft starts B at zero, which would make the adapter a no-op
    before = _logits(lora, tokenizer)
    folder = tmp_path / "checkpoint"
    save_checkpoint(lora, tokenizer, folder)

    assert (folder / "model.safetensors").is_file()
    assert not (folder / "adapter_model.safetensors").exists()
    torch.testing.assert_close(_logits(lora, tokenizer), before, atol=0, rtol=0)  # saving left the adapter in place
    loaded, loaded_tokenizer = load_checkpoint(folder, head="causal-lm")
    assert type(loaded).__name__ == "LlamaForCausalLM"
    assert loaded_tokenizer.pad_token == "<|im_end|>"
    torch.testing.assert_close(_logits(loaded, loaded_tokenizer), before, atol=1e-5, rtol=1e-5)
    with lora.disable_adapter():
        base = _logits(lora, tokenizer)
    assert (before - base).abs().max() > 1e-3  # the adapter changed the logits, so the round trip is a real check


def test_pickle_only_checkpoint_rejected(tmp_path):
    model, tokenizer = load_classifier(TINY, (), seed=0, head="causal-lm")
    model.save_pretrained(tmp_path, safe_serialization=False)
    tokenizer.save_pretrained(tmp_path)
    assert (tmp_path / "pytorch_model.bin").is_file()
    with pytest.raises(RsbenchError, match="no model.safetensors"):
        load_checkpoint(tmp_path, head="causal-lm")


def test_pickle_only_local_model_rejected(tmp_path):
    model, tokenizer = load_classifier(TINY, (), seed=0, head="causal-lm")
    model.save_pretrained(tmp_path, safe_serialization=False)
    tokenizer.save_pretrained(tmp_path)
    with pytest.raises(RsbenchError, match="only safetensors"):
        load_classifier(ModelSpec(source="local", path=tmp_path), (), seed=0, head="causal-lm")


def test_causal_lm_rejected_for_classification():
    with pytest.raises(RsbenchError, match="causal LM"):
        load_classifier(ModelSpec(source="packaged", name="SmolLM2-135M-Instruct"), ("a", "b"), seed=0)


@pytest.mark.slow
def test_converted_checkpoint_matches_gguf():
    """The packaged model loaded by load_classifier gives the GGUF-loaded model's logits."""
    from transformers import AutoModelForCausalLM

    from harness.lm import gguf_path

    model, tokenizer = load_classifier(ModelSpec(source="packaged", name="SmolLM2-135M-Instruct"), (), seed=0, head="causal-lm")
    source = gguf_path()
    reference = AutoModelForCausalLM.from_pretrained(source.parent, gguf_file=source.name, dtype=torch.float32)
    expected = _logits(reference, tokenizer, "The quick brown fox jumps over the lazy dog.")
    torch.testing.assert_close(_logits(model, tokenizer, "The quick brown fox jumps over the lazy dog."), expected,
                               atol=1e-4, rtol=1e-4)
