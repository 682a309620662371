"""rsbench's ``Generator`` around a tiny random Llama (2 layers, hidden 64, SmolLM2's tokenizer): a ``generate(list[str]) -> list[str]`` callable."""

from __future__ import annotations

import os

for _name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_name, "1")

from harness.generation.decoding import Decoding  # noqa: E402
from harness.generation.generator import Generator  # noqa: E402
from harness.generation.prompts import PromptFormat  # noqa: E402
from tests.generation.conftest import build_tiny_llama  # noqa: E402


def tiny_llama_generator(*, seed: int = 0, max_new_tokens: int = 8, batch_size: int = 16, cache: bool = True) -> Generator:
    """Return a greedy generator over a fresh tiny Llama; its ``generated_sources`` counts the sources run through the model."""
    model, tokenizer = build_tiny_llama(seed=seed, hidden_size=64, intermediate_size=128, num_attention_heads=4)
    return Generator(model.eval(), tokenizer, PromptFormat("Rewrite this text."), Decoding(max_new_tokens=max_new_tokens),
                     batch_size=batch_size, max_source_tokens=None, device="cpu", cache_enabled=cache)
