"""The training head of generation tasks: next-token cross-entropy on the target tokens of a prompted causal LM."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from harness.generation.examples import TextPairs
from harness.generation.prompts import PromptFormat
from harness.training.heads import LABEL_PAD, Batch, model_inputs


class CausalLMHead:
    """A ``TaskHead`` for a causal LM trained on prompt + target sequences.

    Each feature carries ``labels`` (``LABEL_PAD`` on the prompt) and ``perturb_mask``
    (1 on prompt tokens, 0 on target tokens), which the embedding adversary of the adv
    variant reads so that it perturbs only the prompt. ``rows`` are the logits at the
    positions that predict a target token, so distillation and R-Drop compare one
    distribution per target token.
    """

    def __init__(self, prompt: PromptFormat, max_source_tokens: int, max_target_tokens: int):
        self.prompt = prompt
        self.max_source_tokens = max_source_tokens
        self.max_target_tokens = max_target_tokens

    def encode(self, tokenizer: Any, data: TextPairs, max_length: int) -> list[dict[str, Any]]:
        """Tokenize every pair; a sequence longer than ``max_length`` gets a shorter source.

        Raises:
            ValueError: the prompt template and the target alone are longer than ``max_length``.
        """
        features = []
        for index, (source, target) in enumerate(zip(data.sources, data.targets)):
            feature = self._encode_pair(tokenizer, source, target, max_length, origin=data.origins[index])
            feature["perturb_mask"] = [int(label == LABEL_PAD) for label in feature["labels"]]
            feature["example_index"] = index
            features.append(feature)
        return features

    def _encode_pair(self, tokenizer: Any, source: str, target: str, max_length: int, *, origin: str) -> dict[str, Any]:
        budget = self.max_source_tokens
        while True:
            feature = self.prompt.encode(tokenizer, source, target, max_source_tokens=budget,
                                         max_target_tokens=self.max_target_tokens)
            excess = len(feature["input_ids"]) - max_length
            if excess <= 0:
                return feature
            source_tokens = len(tokenizer(self.prompt.truncate_source(tokenizer, source, budget),
                                          add_special_tokens=False)["input_ids"])
            if source_tokens - excess < 1:
                raise ValueError(
                    f"training.max_length {max_length} is too short for pair {origin}: the prompt template and the target "
                    f"take {len(feature['input_ids']) - source_tokens} tokens. Raise training.max_length or lower max_target_tokens."
                )
            # Tokens can merge across the cut, so the shorter source is checked again.
            budget = source_tokens - excess

    def logits(self, model: torch.nn.Module, batch: Batch, *, inputs_embeds: torch.Tensor | None = None) -> torch.Tensor:
        """Run the model with position ids counted over real tokens, so left and right padding give the same logits."""
        inputs = model_inputs(batch, inputs_embeds=inputs_embeds)
        mask = batch["attention_mask"]
        inputs["position_ids"] = (mask.long().cumsum(-1) - 1).clamp(min=0)
        return model(**inputs).logits

    def per_example_loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Mean cross-entropy over each example's target tokens, logits at position t predicting the token at t + 1."""
        shifted_logits = logits[:, :-1, :]
        shifted_labels = batch["labels"][:, 1:]
        losses = F.cross_entropy(
            shifted_logits.reshape(-1, shifted_logits.size(-1)).float(),
            shifted_labels.reshape(-1),
            ignore_index=LABEL_PAD,
            reduction="none",
        ).view(shifted_labels.shape)
        counts = (shifted_labels != LABEL_PAD).sum(dim=1).clamp(min=1)
        return losses.sum(dim=1) / counts

    def rows(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Return the logits that predict target tokens, shape (target tokens in the batch, vocabulary)."""
        target = batch["labels"][:, 1:] != LABEL_PAD
        return logits[:, :-1, :][target]
