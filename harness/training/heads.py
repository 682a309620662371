"""Task heads: how examples become model inputs, and how a batch becomes logits and a loss.

The training loop and the variants only talk to a ``TaskHead``, so a task with another
output shape (token tags, answer spans, generated text) plugs in by writing a head.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import torch
import torch.nn.functional as F

from harness.tasks.base import LabeledTexts

Batch = Mapping[str, torch.Tensor]

# Batch keys that the model's forward receives; every other key (labels, example_index)
# stays with the head and the objective.
MODEL_INPUT_KEYS = ("input_ids", "attention_mask", "token_type_ids")

# Label of positions that no loss or metric reads: padding, special tokens, later word pieces.
LABEL_PAD = -100


class TaskHead(Protocol):
    """The task-specific part of training, used by the loop and by every variant."""

    def encode(self, tokenizer: Any, data: LabeledTexts, max_length: int) -> list[dict[str, Any]]:
        """Tokenize ``data`` without padding: one feature dict per example, in order."""
        ...

    def logits(self, model: torch.nn.Module, batch: Batch, *, inputs_embeds: torch.Tensor | None = None) -> torch.Tensor:
        """Run the model on ``batch``, on ``inputs_embeds`` in place of the token ids when given."""
        ...

    def per_example_loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Task loss of each example, shape (batch,)."""
        ...

    def rows(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Return the predicted distributions that KL terms compare, shape (rows, classes), as logits."""
        ...


def model_inputs(batch: Batch, *, inputs_embeds: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Select the model's keyword arguments from ``batch``; ``inputs_embeds`` replaces ``input_ids``."""
    inputs = {key: batch[key] for key in MODEL_INPUT_KEYS if key in batch}
    if inputs_embeds is not None:
        del inputs["input_ids"]
        inputs["inputs_embeds"] = inputs_embeds
    return inputs


class SequenceClassificationHead:
    """One label per text, cross-entropy over ``AutoModelForSequenceClassification`` logits."""

    def encode(self, tokenizer: Any, data: LabeledTexts, max_length: int) -> list[dict[str, Any]]:
        return encode_texts(tokenizer, data.texts, max_length, labels=data.labels)

    def logits(self, model: torch.nn.Module, batch: Batch, *, inputs_embeds: torch.Tensor | None = None) -> torch.Tensor:
        return model(**model_inputs(batch, inputs_embeds=inputs_embeds)).logits

    def per_example_loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        return F.cross_entropy(logits, batch["labels"], reduction="none")

    def rows(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        return logits


def encode_texts(
    tokenizer: Any, texts: Sequence[str], max_length: int, *, labels: Sequence[int] | None = None
) -> list[dict[str, Any]]:
    """Tokenize ``texts`` with truncation and no padding; add ``labels`` and ``example_index``."""
    encoded = tokenizer(list(texts), truncation=True, max_length=max_length)
    features = []
    for index in range(len(texts)):
        feature = {key: values[index] for key, values in encoded.items()}
        feature["example_index"] = index
        if labels is not None:
            feature["labels"] = labels[index]
        features.append(feature)
    return features


def collate(tokenizer: Any, features: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor]:
    """Pad ``features`` to the longest one of the batch (dynamic padding) and stack them.

    Token ids are padded with the tokenizer's pad token on its ``padding_side``, the attention
    mask, token type ids and the adversary's ``perturb_mask`` with 0; scalar keys (``labels``, ``example_index``) become 1-d tensors.
    List-valued other keys (per-token ``labels`` of token classification) are padded to the
    width of that key with ``LABEL_PAD`` (-100, the ignore index of ``cross_entropy``) on the same side.
    """
    pad_left = getattr(tokenizer, "padding_side", "right") == "left"
    pad_values = {"input_ids": tokenizer.pad_token_id, "attention_mask": 0, "token_type_ids": 0, "perturb_mask": 0}
    batch = {}
    for key, value in features[0].items():
        if key not in pad_values and not isinstance(value, (list, tuple)):
            batch[key] = torch.tensor([feature[key] for feature in features])
            continue
        # Each key is padded to its own longest row: an encoder-decoder's labels are not as long as its input ids.
        key_width = max(len(feature[key]) for feature in features)
        padded = torch.full((len(features), key_width), pad_values.get(key, LABEL_PAD), dtype=torch.long)
        for row, feature in enumerate(features):
            sequence = torch.as_tensor(feature[key], dtype=torch.long)
            if pad_left:
                padded[row, key_width - len(sequence) :] = sequence
            else:
                padded[row, : len(sequence)] = sequence
        batch[key] = padded
    return batch


CLASSIFICATION = SequenceClassificationHead()
