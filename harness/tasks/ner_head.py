"""Token classification for NER: word-piece alignment, the training head, and per-word prediction.

Words are tokenized with ``is_split_into_words=True``. The first word piece of each word
carries the word's tag; later pieces, special tokens and padding carry ``LABEL_PAD`` and
neither train nor predict. A word the model never reads is predicted ``O``: a word beyond
``max_length`` word pieces, or one that the tokenizer turns into no piece at all (for
example a lone control character). So every word of every sentence gets a prediction, and
metrics count every gold entity.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from harness.tasks.ner_data import TaggedSentences
from harness.training.heads import LABEL_PAD, Batch, collate, model_inputs

OUTSIDE_INDEX = 0  # "O" is the first of the tag names (ner_data.tag_names)


def _require_fast(tokenizer: Any) -> None:
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(f"NER needs a fast tokenizer (word_ids), got {type(tokenizer).__name__}; "
                         "use a model whose tokenizer has a tokenizer.json")


def encode_words(tokenizer: Any, sentences: Sequence[Sequence[str]], max_length: int,
                 tags: Sequence[Sequence[int]] | None = None) -> list[dict[str, Any]]:
    """Tokenize word lists with truncation and no padding; one feature dict per sentence.

    Each dict has the tokenizer's keys, ``example_index``, ``word_ids`` (the word of each
    position, -1 for special tokens and later word pieces of a word) and, with ``tags``,
    ``labels`` aligned the same way with ``LABEL_PAD``.
    """
    _require_fast(tokenizer)
    encoded = tokenizer([list(words) for words in sentences], is_split_into_words=True, truncation=True,
                        max_length=max_length)
    features = []
    for index in range(len(sentences)):
        first_pieces = []
        previous = None
        for word in encoded.word_ids(index):
            first_pieces.append(word if word is not None and word != previous else -1)
            previous = word
        feature = {key: values[index] for key, values in encoded.items()}
        feature["example_index"] = index
        feature["word_ids"] = first_pieces
        if tags is not None:
            feature["labels"] = [tags[index][word] if word >= 0 else LABEL_PAD for word in first_pieces]
        features.append(feature)
    return features


def words_in_window(tokenizer: Any, words: Sequence[str], max_length: int) -> int:
    """Return how many leading words of ``words`` the model reads within ``max_length`` word pieces."""
    _require_fast(tokenizer)
    encoded = tokenizer(list(words), is_split_into_words=True, truncation=True, max_length=max_length)
    seen = [word for word in encoded.word_ids() if word is not None]
    return max(seen) + 1 if seen else 0


class TokenClassificationHead:
    """Cross-entropy over the first word piece of each word, ``AutoModelForTokenClassification`` logits."""

    def encode(self, tokenizer: Any, data: TaggedSentences, max_length: int) -> list[dict[str, Any]]:
        index = {name: position for position, name in enumerate(data.label_names)}
        tag_ids = [[index[tag] for tag in tags] for tags in data.tags]
        features = encode_words(tokenizer, data.tokens, max_length, tag_ids)
        for feature in features:
            del feature["word_ids"]
        return features

    def logits(self, model: torch.nn.Module, batch: Batch, *, inputs_embeds: torch.Tensor | None = None) -> torch.Tensor:
        return model(**model_inputs(batch, inputs_embeds=inputs_embeds)).logits

    def per_example_loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Mean cross-entropy over each example's labelled positions; 0 for an example without any."""
        labels = batch["labels"]
        losses = F.cross_entropy(logits.transpose(1, 2), labels, ignore_index=LABEL_PAD, reduction="none")
        counts = (labels != LABEL_PAD).sum(dim=1)
        return losses.sum(dim=1) / counts.clamp(min=1)

    def rows(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        return logits[batch["labels"] != LABEL_PAD]


TOKEN_CLASSIFICATION = TokenClassificationHead()


def word_probabilities(
    model: torch.nn.Module,
    tokenizer: Any,
    sentences: Sequence[Sequence[str]],
    *,
    batch_size: int,
    max_length: int,
    device: torch.device,
    precision: str = "fp32",
    progress: bool = False,
    token_counts: list[int] | None = None,
) -> list[np.ndarray]:
    """Return per sentence a (words, classes) float32 array of tag probabilities, in input order.

    Words the model does not read (see the module docstring) get probability 1 on ``O``.
    Sentences are batched by length and padded per batch. Runs under ``torch.inference_mode``
    in eval mode (restored afterwards). ``token_counts``, when given, receives the real token
    count of every sentence run through the model.
    """
    from tqdm.auto import tqdm

    from harness.perf import autocast

    num_labels = model.config.num_labels
    features = encode_words(tokenizer, sentences, max_length)
    results: list[np.ndarray | None] = [None] * len(sentences)
    order = sorted(range(len(features)), key=lambda i: len(features[i]["input_ids"]))
    batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    was_training = model.training
    if was_training:
        model.eval()
    try:
        with torch.inference_mode(), autocast(precision, device):
            for indices in tqdm(batches, desc="predict", unit="batch", disable=not progress, leave=False):
                chosen = [features[i] for i in indices]
                word_ids = [feature.pop("word_ids") for feature in chosen]
                batch = collate(tokenizer, chosen)
                batch.pop("example_index")
                if token_counts is not None:
                    token_counts += batch["attention_mask"].sum(dim=1).tolist()
                logits = model(**{key: value.to(device) for key, value in batch.items()}).logits
                probabilities = torch.softmax(logits.float(), dim=-1).cpu().numpy()
                for row, (index, positions) in enumerate(zip(indices, word_ids)):
                    words = np.zeros((len(sentences[index]), num_labels), dtype=np.float32)
                    words[:, OUTSIDE_INDEX] = 1.0
                    for position, word in enumerate(positions):
                        if word >= 0:
                            words[word] = probabilities[row, position]
                    results[index] = words
    finally:
        if was_training:
            model.train()
    return results  # type: ignore[return-value]


def predict_tags(model: torch.nn.Module, tokenizer: Any, sentences: Sequence[Sequence[str]], label_names: Sequence[str], *,
                 batch_size: int, max_length: int, device: torch.device, precision: str = "fp32",
                 progress: bool = False) -> tuple[list[list[str]], float]:
    """Return the predicted tag of every word of every sentence, and the sentences per second."""
    started = time.perf_counter()
    probabilities = word_probabilities(model, tokenizer, sentences, batch_size=batch_size, max_length=max_length,
                                       device=device, precision=precision, progress=progress)
    tags = [[label_names[int(i)] for i in rows.argmax(axis=1)] for rows in probabilities]
    seconds = time.perf_counter() - started
    return tags, len(sentences) / seconds if seconds > 0 else math.inf
