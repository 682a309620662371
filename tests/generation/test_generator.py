"""Batched, cached generation on a tiny random Llama."""

from __future__ import annotations

import pytest
import torch

from harness.generation.decoding import Decoding
from harness.generation.generator import Generator
from harness.generation.prompts import end_of_turn_id

GREEDY = Decoding(strategy="greedy", max_new_tokens=8)
SOURCES = ["the cat sleeps", "a dog runs in the park after lunch", "good morning", "the sun is bright", "hello there"]


@pytest.fixture(scope="module")
def llama():
    from tests.generation.conftest import build_tiny_llama

    model, tokenizer = build_tiny_llama(seed=3)
    # Weights ten times larger than the default initialisation make the outputs depend on the source.
    torch.manual_seed(3)
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() == 2:
                parameter.normal_(0.0, 0.2)
    return model.eval(), tokenizer


def _generator(llama, prompt_format, **options):
    model, tokenizer = llama
    settings = {"batch_size": 4, "max_source_tokens": 32, "device": "cpu", **options}
    return Generator(model, tokenizer, prompt_format, options.pop("decoding", GREEDY),
                     **{key: value for key, value in settings.items() if key != "decoding"})


def test_batch_sizes_give_same_outputs(llama, prompt_format):
    one = _generator(llama, prompt_format, batch_size=1)(SOURCES)
    four = _generator(llama, prompt_format, batch_size=4)(SOURCES)
    assert one == four
    assert all(isinstance(text, str) for text in one)
    assert len(set(one)) >= 3


def test_cache_counts_hits(llama, prompt_format):
    cached = _generator(llama, prompt_format)
    first = cached(SOURCES)
    again = cached(SOURCES[:2] + ["new source text"])
    assert again[:2] == first[:2]
    assert cached.cache_hits == 2
    assert cached.generated_sources == len(SOURCES) + 1
    assert len(cached.forward_token_counts) == len(SOURCES) + 1
    assert cached.generated_tokens > 0
    assert cached.generation_seconds > 0

    uncached = _generator(llama, prompt_format, cache_enabled=False)
    assert uncached(SOURCES) == first
    assert uncached(SOURCES[:2]) == first[:2]
    assert uncached.cache_hits == 0
    assert uncached.generated_sources == len(SOURCES) + 2


def test_duplicate_sources_generate_once(llama, prompt_format):
    generator = _generator(llama, prompt_format, cache_enabled=False)
    outputs = generator(["good morning", "good morning"])
    assert outputs[0] == outputs[1]
    assert generator.generated_sources == 1


def test_output_is_greedy_continuation(llama, prompt_format):
    """The output equals a hand-written greedy loop over the unpadded prompt."""
    model, tokenizer = llama
    generator = _generator(llama, prompt_format)
    output = generator(["the cat sleeps"])[0]
    ids = torch.tensor([prompt_format.prompt_ids(tokenizer, "the cat sleeps", max_source_tokens=32)])
    new = []
    with torch.no_grad():
        for _ in range(GREEDY.max_new_tokens):
            token = model(input_ids=ids).logits[0, -1].argmax().item()
            new.append(token)
            if token == end_of_turn_id(tokenizer):
                break
            ids = torch.cat([ids, torch.tensor([[token]])], dim=1)
    assert output == tokenizer.decode(new, skip_special_tokens=True).strip()
    assert generator.generated_tokens == len(new)


def test_beam_search_and_bf16_run(llama, prompt_format):
    beam = _generator(llama, prompt_format, decoding=Decoding(strategy="beam", num_beams=3, max_new_tokens=4))
    assert len(beam(SOURCES[:3])) == 3
    assert beam.generated_tokens <= 3 * 4
    bf16 = _generator(llama, prompt_format, precision="bf16")
    assert len(bf16(SOURCES[:2])) == 2


def test_model_mode_restored(llama, prompt_format):
    model, _ = llama
    model.train()
    _generator(llama, prompt_format)(["hello"])
    assert model.training
    model.eval()


def test_token_counts_split_prompt_and_output(llama, prompt_format):
    generator = _generator(llama, prompt_format)
    generator(SOURCES)
    _, tokenizer = llama
    prompts = sorted(len(prompt_format.prompt_ids(tokenizer, source, max_source_tokens=32)) for source in SOURCES)
    assert sorted(count[0] for count in generator.forward_token_counts) == prompts
    assert sum(count[1] for count in generator.forward_token_counts) == generator.generated_tokens


def test_causal_lm_flops_by_hand():
    from types import SimpleNamespace

    from harness.generation.task import causal_lm_flops

    config = SimpleNamespace(hidden_size=8, intermediate_size=16, num_hidden_layers=2, num_attention_heads=4,
                             num_key_value_heads=2, vocab_size=100, is_encoder_decoder=False)
    # Per token and layer: 2 * (2*64 + 2*8*4 + 3*8*16) = 1152 (key/value width 4); 5 tokens, 2 layers;
    # attention scores 2 layers * 2 * 5^2 * 8;
    # 2 generated tokens through the 8 x 100 output projection.
    assert causal_lm_flops(config, [(3, 2)]) == 5 * 2 * 1152 + 2 * 2 * 25 * 8 + 2 * 2 * 8 * 100
