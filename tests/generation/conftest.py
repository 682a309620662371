"""Tiny random Llama models over SmolLM2's tokenizer, and a few text pairs, for the generation tests."""

from __future__ import annotations

import pytest

from harness.generation.examples import TextPairs
from harness.generation.models import load_causal_lm_model
from harness.generation.prompts import PromptFormat
from harness.suite import ModelSpec

SOURCES = ("the cat sleeps", "a dog runs in the park", "good morning", "the sun is bright today and warm")
TARGETS = ("el gato duerme", "un perro corre en el parque", "buenos dias", "el sol brilla hoy y calienta")


@pytest.fixture(scope="session")
def pairs() -> TextPairs:
    return TextPairs(SOURCES, TARGETS, ("g1", "g1", "g2", "g2"), tuple(f"test:{index}" for index in range(len(SOURCES))))


@pytest.fixture(scope="session")
def prompt_format() -> PromptFormat:
    return PromptFormat("Translate English to Spanish.")


def build_tiny_llama(seed: int = 0, **architecture):
    """Build a 2-layer Llama with hidden size 32 over SmolLM2's vocabulary; returns (model, tokenizer)."""
    spec = ModelSpec(source="random", architecture={"num_hidden_layers": 2, "hidden_size": 32,
                                                    "intermediate_size": 64, **architecture})
    model, tokenizer = load_causal_lm_model(spec, seed=seed)
    return model, tokenizer


@pytest.fixture
def tiny_llama():
    """A factory of tiny random Llamas: ``tiny_llama(seed=0)`` returns (model, tokenizer)."""
    return build_tiny_llama


@pytest.fixture(scope="session")
def tiny_llama_tokenizer():
    """SmolLM2's tokenizer, with the pad token and padding side of load_causal_lm_model."""
    from transformers import AutoTokenizer

    from harness.generation.models import prepare_tokenizer
    from harness.lm import converted_model_folder

    return prepare_tokenizer(AutoTokenizer.from_pretrained(str(converted_model_folder())))
