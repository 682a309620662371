"""Tiny models and generated data for the relation-extraction tests, without WordNet."""

from __future__ import annotations

import os

for _name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_name, "1")

import torch  # noqa: E402

from harness.data import wordnet_relations  # noqa: E402
from harness.data.wordnet_relations import LABELS, PairPools  # noqa: E402
from harness.tasks.base import LabeledTexts, Splits  # noqa: E402
from harness.tasks.relation_extraction import RelationExtractionTask  # noqa: E402

TINY_ARCHITECTURE = {"num_hidden_layers": 2, "hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64,
                     "max_position_embeddings": 128}

# Real words, so that PWWS finds WordNet synonyms in the templates and the mentions.
_NOUNS = ("dog", "house", "tree", "river", "car", "table", "bird", "city", "book", "garden", "window", "road")
_ADJECTIVES = ("hot", "cold", "big", "small", "happy", "sad", "fast", "slow", "early", "late", "light", "dark")


def word_pools() -> PairPools:
    """Pairs of common words standing in for WordNet's, in every relation."""
    nouns = [(first, second) for first in _NOUNS for second in _NOUNS if first < second]
    adjectives = [(first, second) for first in _ADJECTIVES for second in _ADJECTIVES if first < second]
    return PairPools(
        hypernym=tuple(nouns[0::4]), meronym=tuple(nouns[1::4]), antonym=tuple(adjectives[0::2]),
        other_nouns=tuple(nouns[2::4]), other_adjectives=tuple(adjectives[1::2]),
    )


def generated_splits(monkeypatch, sizes: dict[str, int] | None = None, seed: int = 0) -> Splits:
    monkeypatch.setattr(wordnet_relations, "pair_pools", word_pools)
    generated = wordnet_relations.generate(sizes or {"train": 96, "dev": 12, "test": 48}, seed)
    index = {name: position for position, name in enumerate(LABELS)}
    return Splits(*(
        LabeledTexts(tuple(text for text, _ in generated[split]), tuple(index[label] for _, label in generated[split]), LABELS)
        for split in ("train", "dev", "test")
    ))


def tiny_relation_model(seed: int = 0):
    """A random 2-layer BERT with the MiniLM tokenizer, prepared with the entity markers."""
    from harness.models import load_classifier
    from harness.suite import ModelSpec

    spec = ModelSpec(source="random", architecture=TINY_ARCHITECTURE)
    model, tokenizer = load_classifier(spec, LABELS, seed=seed)
    return RelationExtractionTask().prepare_model(model, tokenizer)


def train_briefly(model, tokenizer, data: LabeledTexts, steps: int = 30) -> None:
    """Fit ``model`` to ``data`` with plain AdamW so that attacks have predictions to flip."""
    batch = tokenizer(list(data.texts), padding=True, return_tensors="pt")
    labels = torch.tensor(data.labels)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        loss = model(**batch, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
