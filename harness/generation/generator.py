"""Batched text generation with a prompted causal LM or an encoder-decoder model, cached per source text."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import torch

from harness.generation.decoding import Decoding
from harness.generation.prompts import PromptFormat, encoder_end_id, end_of_turn_id, source_ids
from harness.perf import autocast


class Generator:
    """A callable that maps source texts to generated outputs with ``model.generate``.

    Prompts are sorted by token count and cut into batches of ``batch_size``, left-padded so
    that every prompt ends where generation starts. Decoding is greedy or beam search as
    ``decoding.strategy`` sets, at most ``decoding.max_new_tokens`` tokens, and stops at the
    end-of-turn token. Outputs are decoded without special tokens and stripped.

    Outputs are cached by source text across calls while ``cache_enabled`` is true, which
    is exact because decoding is deterministic. The counters are:

    - ``cache_hits``: sources answered from the cache;
    - ``generated_sources``: sources run through the model;
    - ``generated_tokens``: new tokens up to and including the end token, beams not counted;
    - ``generation_seconds``: wall time inside ``generate``;
    - ``forward_token_counts``: (prompt tokens, output tokens) of each generated source, for
      FLOP estimates.

    An encoder-decoder model (``model.config.is_encoder_decoder``) gets the encoder input
    of :func:`~harness.generation.prompts.source_ids` (no chat template), right-padded;
    ``generate`` then returns decoder tokens only, whose leading decoder start token is
    dropped, and decoding stops at the tokenizer's EOS token. Its ``forward_token_counts``
    are (encoder tokens, generated tokens) pairs.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        prompt: PromptFormat,
        decoding: Decoding,
        *,
        batch_size: int,
        max_source_tokens: int | None,
        device: Any,
        precision: str = "fp32",
        cache_enabled: bool = True,
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.model = model
        self.tokenizer = tokenizer
        self.prompt = prompt
        self.decoding = decoding
        self.batch_size = batch_size
        self.max_source_tokens = max_source_tokens
        self.device = torch.device(device)
        self.precision = precision
        self.cache_enabled = cache_enabled
        self.encoder_decoder = bool(getattr(model.config, "is_encoder_decoder", False))
        self.end_id = encoder_end_id(tokenizer) if self.encoder_decoder else end_of_turn_id(tokenizer)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.end_id
        self.cache: dict[str, str] = {}
        self.cache_hits = 0
        self.generated_sources = 0
        self.generated_tokens = 0
        self.generation_seconds = 0.0
        self.forward_token_counts: list[tuple[int, int]] = []

    def __call__(self, sources: Sequence[str]) -> list[str]:
        """Return the output for each source, in input order."""
        outputs: dict[str, str] = {}
        pending: dict[str, None] = {}  # sources to generate, each once, in first-seen order
        for source in sources:
            if self.cache_enabled and source in self.cache:
                self.cache_hits += 1
                outputs[source] = self.cache[source]
            elif source not in outputs:
                pending[source] = None
        if pending:
            generated = self._generate(list(pending))
            outputs.update(generated)
            if self.cache_enabled:
                self.cache.update(generated)
        return [outputs[source] for source in sources]

    def _generate(self, sources: list[str]) -> dict[str, str]:
        if self.encoder_decoder:
            prompts = [source_ids(self.prompt, self.tokenizer, source, max_source_tokens=self.max_source_tokens)
                       for source in sources]
        else:
            prompts = [self.prompt.prompt_ids(self.tokenizer, source, max_source_tokens=self.max_source_tokens)
                       for source in sources]
        order = sorted(range(len(sources)), key=lambda index: len(prompts[index]))
        results: dict[str, str] = {}
        was_training = self.model.training
        self.model.eval()
        try:
            for start in range(0, len(order), self.batch_size):
                indices = order[start : start + self.batch_size]
                texts = self._generate_batch([prompts[index] for index in indices])
                for index, text in zip(indices, texts):
                    results[sources[index]] = text
        finally:
            self.model.train(was_training)
        return results

    def _generate_batch(self, prompts: list[list[int]]) -> list[str]:
        width = max(len(ids) for ids in prompts)
        input_ids = torch.full((len(prompts), width), self.pad_id, dtype=torch.long)
        attention_mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, ids in enumerate(prompts):
            start = 0 if self.encoder_decoder else width - len(ids)
            input_ids[row, start : start + len(ids)] = torch.tensor(ids, dtype=torch.long)
            attention_mask[row, start : start + len(ids)] = 1

        beam = self.decoding.strategy == "beam"
        started = time.perf_counter()
        with torch.inference_mode(), autocast(self.precision, self.device):
            sequences = self.model.generate(
                input_ids=input_ids.to(self.device),
                attention_mask=attention_mask.to(self.device),
                do_sample=False,
                num_beams=self.decoding.num_beams if beam else 1,
                max_new_tokens=self.decoding.max_new_tokens,
                eos_token_id=self.end_id,
                pad_token_id=self.pad_id,
                # The model's generation config may set sampling options that do_sample=False ignores.
                temperature=None, top_p=None, top_k=None,
            )
        self.generation_seconds += time.perf_counter() - started

        # A decoder's output starts with its start token; a causal LM's repeats the prompt.
        new_tokens = sequences[:, 1:].cpu() if self.encoder_decoder else sequences[:, width:].cpu()
        texts = []
        for ids, prompt in zip(new_tokens.tolist(), prompts):
            length = ids.index(self.end_id) + 1 if self.end_id in ids else len(ids)
            self.generated_tokens += length
            # An encoder-decoder's counts stay split because its encoder reads only the source.
            self.forward_token_counts.append((len(prompt), length))
            texts.append(self.tokenizer.decode(ids[:length], skip_special_tokens=True).strip())
        self.generated_sources += len(prompts)
        return texts
