"""Span extraction with an encoder: windows over long contexts, the training head and batched span prediction."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from harness.perf import autocast
from harness.tasks.qa_data import QAExamples
from harness.training.heads import Batch, collate, model_inputs

# Logit given to padding positions, so that softmax puts (almost) no mass there. It is finite
# so that KL terms between two masked rows stay finite.
MASKED_LOGIT = -10000.0
# Tokens of room kept for the context in each window: [CLS] question [SEP] context [SEP].
_MIN_CONTEXT_TOKENS = 8


@dataclass(frozen=True)
class Windows:
    """Token windows of (question, context) pairs.

    ``features`` are the model inputs of each window; ``example_of`` maps each window to its
    pair, ``offsets`` gives each token's character span in the context, or None for question,
    special and padding tokens.
    """

    features: list[dict[str, Any]]
    example_of: list[int]
    offsets: list[list[tuple[int, int] | None]]


def encode_windows(tokenizer: Any, questions: Sequence[str], contexts: Sequence[str], max_length: int, stride: int) -> Windows:
    """Tokenize (question, context) pairs into windows of at most ``max_length`` tokens.

    Contexts longer than one window are split into windows that overlap by ``stride`` tokens
    (the fast tokenizer's ``return_overflowing_tokens``). A question longer than half of
    ``max_length`` tokens is cut to that length, so the context keeps room in every window.
    """
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError("extractive QA needs a fast tokenizer (character offsets); this model's tokenizer is a Python one")
    questions = _cut_questions(tokenizer, questions, max_length // 2)
    longest_question = max((len(ids) for ids in tokenizer(list(questions), add_special_tokens=False)["input_ids"]), default=0)
    room = max_length - longest_question - tokenizer.num_special_tokens_to_add(pair=True)
    if room < _MIN_CONTEXT_TOKENS:
        raise ValueError(f"max_length {max_length} leaves {room} context tokens per window; raise max_length")
    stride = max(0, min(stride, room // 2))
    encoded = tokenizer(
        list(questions),
        list(contexts),
        truncation="only_second",
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
    )
    features, offsets = [], []
    for window in range(len(encoded["input_ids"])):
        sequence_ids = encoded.sequence_ids(window)
        features.append({key: encoded[key][window] for key in ("input_ids", "attention_mask", "token_type_ids") if key in encoded})
        offsets.append([tuple(span) if sequence_ids[token] == 1 else None for token, span in enumerate(encoded["offset_mapping"][window])])
    return Windows(features, list(encoded["overflow_to_sample_mapping"]), offsets)


def _cut_questions(tokenizer: Any, questions: Sequence[str], max_tokens: int) -> list[str]:
    encoded = tokenizer(list(questions), add_special_tokens=False, return_offsets_mapping=True)
    cut = []
    for question, spans in zip(questions, encoded["offset_mapping"]):
        cut.append(question if len(spans) <= max_tokens else question[: spans[max_tokens - 1][1]])
    return cut


def token_positions(offsets: list[tuple[int, int] | None], start: int, end: int) -> tuple[int, int]:
    """Token positions of the first and last token of the character span [start, end) in one window.

    Returns (0, 0), the [CLS] position, when the span is not wholly inside the window's context tokens.
    """
    context_tokens = [index for index, span in enumerate(offsets) if span is not None]
    if not context_tokens or offsets[context_tokens[0]][0] > start or offsets[context_tokens[-1]][1] < end:
        return 0, 0
    first = next(index for index in context_tokens if offsets[index][1] > start)
    last = next(index for index in reversed(context_tokens) if offsets[index][0] < end)
    return first, last


class SpanHead:
    """Start and end distributions over the window's positions (``AutoModelForQuestionAnswering``).

    ``encode`` returns one feature per window. A window holding the first gold answer wholly is
    labelled with its token span, other windows with [CLS] (position 0), as in BERT's SQuAD
    recipe. ``example_index`` numbers the windows, so it is unique per feature as the
    distillation teacher's cache requires. Logits have shape (batch, positions, 2); padding
    positions are set to ``MASKED_LOGIT``. The training loop plans its learning-rate
    schedule from the number of features, windows included.
    """

    def __init__(self, stride: int):
        self.stride = stride

    def encode(self, tokenizer: Any, data: QAExamples, max_length: int) -> list[dict[str, Any]]:
        windows = encode_windows(tokenizer, data.questions, data.contexts, max_length, self.stride)
        features = []
        for window, (feature, example) in enumerate(zip(windows.features, windows.example_of)):
            answer = data.answers[example][0]
            start, end = token_positions(windows.offsets[window], answer.start, answer.start + len(answer.text))
            features.append({**feature, "start_positions": start, "end_positions": end, "example_index": window})
        return features

    def logits(self, model: torch.nn.Module, batch: Batch, *, inputs_embeds: torch.Tensor | None = None) -> torch.Tensor:
        output = model(**model_inputs(batch, inputs_embeds=inputs_embeds))
        logits = torch.stack((output.start_logits, output.end_logits), dim=-1)
        padding = batch["attention_mask"].unsqueeze(-1) == 0
        return logits.masked_fill(padding, MASKED_LOGIT)

    def per_example_loss(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        start_loss = F.cross_entropy(logits[..., 0].float(), batch["start_positions"], reduction="none")
        end_loss = F.cross_entropy(logits[..., 1].float(), batch["end_positions"], reduction="none")
        return (start_loss + end_loss) / 2

    def rows(self, logits: torch.Tensor, batch: Batch) -> torch.Tensor:
        """Start rows then end rows, shape (2 * batch, positions); padding positions hold ``MASKED_LOGIT``."""
        return logits.permute(2, 0, 1).reshape(-1, logits.shape[1])


@dataclass(frozen=True)
class SpanPrediction:
    """The best answer span: its text, character offsets in the context, logit score and probability.

    ``probability`` is softmax(start) times softmax(end) over its window's positions. An empty
    ``text`` with offsets (0, 0) means no window had a valid span.
    """

    text: str
    start: int
    end: int
    score: float
    probability: float


class SpanPredictor:
    """Batched span prediction over windows with dynamic padding and a cache per (question, context).

    Windows run sorted by length in batches of ``batch_size``. ``model_evaluations`` counts
    pairs computed, not served from the cache; ``forward_seconds`` and ``forward_token_counts``
    measure the model's own work, as ``DynamicPaddingWrapper`` does for classification.
    """

    def __init__(self, model: torch.nn.Module, tokenizer: Any, *, max_length: int, stride: int, max_answer_tokens: int,
                 batch_size: int, device: torch.device | str | None = None, precision: str = "fp32"):
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.stride = stride
        self.max_answer_tokens = max_answer_tokens
        self.batch_size = batch_size
        self.device = torch.device(device) if device is not None else next(model.parameters()).device
        self.precision = precision
        autocast(precision, self.device)  # rejects an unknown precision here
        self.model_evaluations = 0
        self.forward_seconds = 0.0
        self.forward_token_counts: list[int] = []
        self._cache: dict[tuple[str, str], SpanPrediction] = {}

    def __call__(self, pairs: Sequence[tuple[str, str]]) -> list[SpanPrediction]:
        missing = list(dict.fromkeys(pair for pair in pairs if pair not in self._cache))
        if missing:
            self.model_evaluations += len(missing)
            for pair, prediction in zip(missing, self._predict(missing)):
                self._cache[pair] = prediction
        return [self._cache[pair] for pair in pairs]

    def _predict(self, pairs: list[tuple[str, str]]) -> list[SpanPrediction]:
        windows = encode_windows(self.tokenizer, [q for q, _ in pairs], [c for _, c in pairs], self.max_length, self.stride)
        best: list[SpanPrediction | None] = [None] * len(pairs)
        order = sorted(range(len(windows.features)), key=lambda window: len(windows.features[window]["input_ids"]))
        was_training = self.model.training
        self.model.eval()
        try:
            for begin in range(0, len(order), self.batch_size):
                chosen = order[begin : begin + self.batch_size]
                batch = collate(self.tokenizer, [windows.features[window] for window in chosen])
                started = time.perf_counter()
                with torch.inference_mode(), autocast(self.precision, self.device):
                    output = self.model(**{key: value.to(self.device) for key, value in batch.items()})
                start_logits = output.start_logits.float().cpu().numpy()
                end_logits = output.end_logits.float().cpu().numpy()
                self.forward_seconds += time.perf_counter() - started
                for row, window in enumerate(chosen):
                    length = len(windows.features[window]["input_ids"])
                    self.forward_token_counts.append(length)
                    candidate = self._best_span(start_logits[row, :length], end_logits[row, :length], windows.offsets[window],
                                                pairs[windows.example_of[window]][1])
                    example = windows.example_of[window]
                    if candidate is not None and (best[example] is None or candidate.score > best[example].score):
                        best[example] = candidate
        finally:
            self.model.train(was_training)
        return [prediction or SpanPrediction("", 0, 0, -math.inf, 0.0) for prediction in best]

    def _best_span(self, start_logits: np.ndarray, end_logits: np.ndarray, offsets: list[tuple[int, int] | None],
                   context: str) -> SpanPrediction | None:
        """Highest start + end logit over context tokens with start <= end < start + ``max_answer_tokens``."""
        in_context = np.array([span is not None for span in offsets])
        if not in_context.any():
            return None
        scores = start_logits[:, None] + end_logits[None, :]
        positions = np.arange(len(offsets))
        width = positions[None, :] - positions[:, None]
        valid = in_context[:, None] & in_context[None, :] & (width >= 0) & (width < self.max_answer_tokens)
        scores = np.where(valid, scores, -np.inf)
        start, end = np.unravel_index(int(np.argmax(scores)), scores.shape)
        probability = float(_softmax(start_logits)[start] * _softmax(end_logits)[end])
        char_start, char_end = offsets[start][0], offsets[end][1]
        return SpanPrediction(context[char_start:char_end], int(char_start), int(char_end), float(scores[start, end]), probability)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()
