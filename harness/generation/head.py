"""The training head of generation tasks: cross-entropy on the target tokens of a prompted causal LM or an encoder-decoder model."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from harness.generation.examples import TextPairs
from harness.generation.prompts import PromptFormat, is_encoder_decoder_tokenizer, source_ids, target_ids
from harness.training.heads import LABEL_PAD, Batch, model_inputs


class CausalLMHead:
    """A ``TaskHead`` for a causal LM trained on prompt + target sequences.

    Each feature carries ``labels`` (``LABEL_PAD`` on the prompt) and ``perturb_mask``
    (1 on prompt tokens, 0 on target tokens), which the embedding adversary of the adv
    variant reads so that it perturbs only the prompt. ``rows`` are the logits at the
    positions that predict a target token, so distillation and R-Drop compare one
    distribution per target token.

    An encoder-decoder model (T5, BART, Marian; its tokenizer is marked by
    :func:`harness.generation.prompts.mark_encoder_decoder` when loaded) gets another
    layout: ``input_ids`` are the encoder input (:func:`~harness.generation.prompts.source_ids`,
    no chat template), ``labels`` the decoder's target ids ending with EOS
    (:func:`~harness.generation.prompts.target_ids`), so ``labels`` and ``input_ids`` differ
    in length. ``perturb_mask`` is 1 on every encoder token, which is exactly what the
    model's ``inputs_embeds`` holds, and each feature has ``encoder_decoder`` = 1. The
    decoder input is the labels shifted right after the decoder start token, and the logits
    at decoder position t predict label t (no causal shift).
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
        if is_encoder_decoder_tokenizer(tokenizer):
            return self._encode_encoder_decoder(tokenizer, data, max_length)
        features = []
        for index, (source, target) in enumerate(zip(data.sources, data.targets)):
            feature = self._encode_pair(tokenizer, source, target, max_length, origin=data.origins[index])
            feature["perturb_mask"] = [int(label == LABEL_PAD) for label in feature["labels"]]
            feature["example_index"] = index
            features.append(feature)
        return features

    def _encode_encoder_decoder(self, tokenizer: Any, data: TextPairs, max_length: int) -> list[dict[str, Any]]:
        """Encoder input and decoder labels, each cut to ``max_length`` tokens."""
        features = []
        for index, (source, target) in enumerate(zip(data.sources, data.targets)):
            input_ids = source_ids(self.prompt, tokenizer, source, max_source_tokens=self.max_source_tokens,
                                   max_length=max_length)
            labels = target_ids(self.prompt, tokenizer, target, max_target_tokens=min(self.max_target_tokens, max_length - 1))
            features.append({"input_ids": input_ids, "attention_mask": [1] * len(input_ids), "labels": labels,
                             "perturb_mask": [1] * len(input_ids), "encoder_decoder": 1, "example_index": index})
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
        """Run the model with position ids counted over real tokens, so left and right padding give the same logits.

        An encoder-decoder model gets the batch as its encoder input and the labels shifted
        right as its decoder input. Its logits are the decoder's, one row per label.
        """
        inputs = model_inputs(batch, inputs_embeds=inputs_embeds)
        if getattr(model.config, "is_encoder_decoder", False):
            inputs["decoder_input_ids"] = decoder_input_ids(model.config, batch["labels"])
            return model(**inputs).logits
        mask = batch["attention_mask"]
        inputs["position_ids"] = (mask.long().cumsum(-1) - 1).clamp(min=0)
        return model(**inputs).logits

    def per_example_loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Mean cross-entropy over each example's target tokens, logits at position t predicting the token at t + 1.

        For an encoder-decoder batch the logits at decoder position t predict label t.
        """
        shifted_logits, shifted_labels = _aligned(logits, batch)
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
        shifted_logits, shifted_labels = _aligned(logits, batch)
        return shifted_logits[shifted_labels != LABEL_PAD]


def _is_encoder_decoder_batch(batch: Batch) -> bool:
    return "encoder_decoder" in batch and bool(batch["encoder_decoder"].any())


def _aligned(logits: torch.Tensor, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    """Return the logits and the labels they predict, position by position."""
    if _is_encoder_decoder_batch(batch):
        return logits, batch["labels"]
    return logits[:, :-1, :], batch["labels"][:, 1:]


def decoder_input_ids(config: Any, labels: torch.Tensor) -> torch.Tensor:
    """Shift ``labels`` right by one after ``config.decoder_start_token_id``; ``LABEL_PAD`` becomes the pad token.

    Raises:
        ValueError: the model config has no decoder start token or no pad token.
    """
    start = getattr(config, "decoder_start_token_id", None)
    pad = getattr(config, "pad_token_id", None)
    if start is None or pad is None:
        raise ValueError(f"model config ({getattr(config, 'model_type', '?')}) needs decoder_start_token_id and pad_token_id "
                         f"for an encoder-decoder model, got {start!r} and {pad!r}. Set both in the model's config.json.")
    shifted = labels.new_full(labels.shape, pad)
    shifted[:, 1:] = labels[:, :-1]
    shifted[:, 0] = start
    return shifted.masked_fill(shifted == LABEL_PAD, pad)
