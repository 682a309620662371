"""The fine-tuning loop shared by all variants, and batched prediction.

What differs between variants (extra forward passes, loss terms, added examples, dropout)
is behind ``harness.variants.objective.Objective``. What differs between tasks (inputs,
logits, loss) is behind the objective's ``TaskHead``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import get_linear_schedule_with_warmup

from harness.cls_forward import cls_logits, supports_cls_logits
from harness.faults import fault_point
from harness.perf import autocast
from harness.tasks.base import LabeledTexts
from harness.training.heads import collate, encode_texts
from harness.training.params import TrainingParams

if TYPE_CHECKING:
    from harness.variants.objective import Objective

logger = logging.getLogger(__name__)

# Batches per length bucket. Each bucket of this many shuffled batches is sorted by length
# before it is cut into batches, so a batch pads to the longest of similar texts. The order
# of the batches is shuffled again afterwards.
BUCKET_BATCHES = 50


@dataclass(frozen=True)
class TrainStats:
    """Counts and timing of one ``train`` call.

    ``seconds`` is the wall time of the whole call, including work at epoch starts such as
    generating adversarial examples; ``examples_per_second`` is ``examples_seen / seconds``.
    ``final_loss`` is the loss of the last step, ``epoch_losses`` the mean step loss per epoch.
    """

    steps: int
    examples_seen: int
    seconds: float
    examples_per_second: float
    final_loss: float
    epoch_losses: tuple[float, ...]


def parameter_groups(model: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """Split trainable parameters into a group with ``weight_decay`` and one without (biases, LayerNorm weights)."""
    no_decay: set[int] = set()
    for module in model.modules():
        if isinstance(module, torch.nn.LayerNorm):
            no_decay.update(id(parameter) for parameter in module.parameters(recurse=False))
    for name, parameter in model.named_parameters():
        if name.endswith("bias"):
            no_decay.add(id(parameter))

    trainable = [parameter for parameter in model.parameters() if parameter.requires_grad]
    return [
        {"params": [p for p in trainable if id(p) not in no_decay], "weight_decay": weight_decay},
        {"params": [p for p in trainable if id(p) in no_decay], "weight_decay": 0.0},
    ]


def batch_indices(
    lengths: Sequence[int], batch_size: int, generator: torch.Generator, *, bucket_batches: int = BUCKET_BATCHES
) -> list[list[int]]:
    """Shuffle example indices into batches, grouping texts of similar length.

    With ``bucket_batches <= 1`` the batches are plain shuffled slices.
    """
    order = torch.randperm(len(lengths), generator=generator).tolist()
    if bucket_batches <= 1:
        return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]

    bucket_size = batch_size * bucket_batches
    batches = []
    for start in range(0, len(order), bucket_size):
        bucket = sorted(order[start : start + bucket_size], key=lambda index: lengths[index])
        batches += [bucket[offset : offset + batch_size] for offset in range(0, len(bucket), batch_size)]
    shuffled = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[position] for position in shuffled]


def _to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {key: value.to(device) for key, value in batch.items()}


def _run_epoch(
    model: torch.nn.Module,
    tokenizer: Any,
    features: list[dict[str, Any]],
    objective: Objective,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    params: TrainingParams,
    generator: torch.Generator,
    device: torch.device,
    description: str,
    progress: bool,
) -> list[float]:
    """Train one pass over ``features`` and return the loss of each step."""
    model.train()
    lengths = [len(feature["input_ids"]) for feature in features]
    batches = batch_indices(lengths, params.batch_size, generator, bucket_batches=BUCKET_BATCHES)
    losses = []
    bar = tqdm(batches, desc=description, unit="batch", disable=not progress, leave=False)
    for indices in bar:
        batch = _to_device(collate(tokenizer, [features[index] for index in indices]), device)
        optimizer.zero_grad(set_to_none=True)
        loss = objective.step(model, batch)
        torch.nn.utils.clip_grad_norm_(model.parameters(), params.max_grad_norm)
        optimizer.step()
        scheduler.step()
        losses.append(loss)
        bar.set_postfix(loss=f"{loss:.4f}")
        fault_point("train.step")
    return losses


def train(
    model: torch.nn.Module,
    tokenizer: Any,
    data: LabeledTexts,
    params: TrainingParams,
    objective: Objective,
    *,
    seed: int,
    device: torch.device,
    progress: bool = True,
) -> TrainStats:
    """Fine-tune ``model`` in place on ``data`` with ``objective``'s losses.

    AdamW without weight decay on biases and LayerNorm weights, linear warm-up then linear
    decay to zero, gradient clipping at ``params.max_grad_norm``, dynamic padding and
    length-bucketed shuffled batches. The batch order comes from a ``torch.Generator`` seeded
    with ``seed``. NOTE: this function also calls ``torch.manual_seed(seed)``, because dropout,
    FreeLB's initial perturbation and A2T's choice of attacked examples draw from torch's
    global generator. Two calls with the same seed, model and data give the same losses.

    Raises ``ValueError`` when ``data`` is empty.
    """
    if len(data) == 0:
        raise ValueError("the training data is empty")
    started = time.perf_counter()
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)

    objective.configure_model(model)
    model.to(device)
    # The fused AdamW kernel updates all parameters in one pass. On CPU, where torch's default is
    # a loop over parameters, it cut clip and step of a 3-layer MiniLM (batch 32) from 0.43 s to
    # 0.09 s. Its rounding differs from the loop's (by about 1e-7 after five steps).
    fused = device.type in ("cpu", "cuda")
    optimizer = torch.optim.AdamW(parameter_groups(model, objective.weight_decay(params.weight_decay)), lr=params.learning_rate,
                                  fused=fused or None)
    # A task may encode one example into several features (QA windows over a long context),
    # and batches are cut from features, so the schedule counts features per example.
    features = objective.head.encode(tokenizer, data, params.max_length)
    encoded_data: LabeledTexts | None = data
    features_per_example = len(features) / len(data)
    planned_steps = sum(
        math.ceil(objective.planned_epoch_size(epoch, len(data)) * features_per_example / params.batch_size)
        for epoch in range(params.epochs)
    )
    scheduler = get_linear_schedule_with_warmup(optimizer, math.ceil(params.warmup_ratio * planned_steps), planned_steps)

    epoch_losses: list[float] = []
    last_loss = math.nan
    steps = 0
    examples_seen = 0
    for epoch in range(params.epochs):
        epoch_data = objective.epoch_data(epoch, model, tokenizer, data, device, training=params, progress=progress)
        if epoch_data is not encoded_data:
            features = objective.head.encode(tokenizer, epoch_data, params.max_length)
            encoded_data = epoch_data
        description = f"epoch {epoch + 1}/{params.epochs}"
        losses = _run_epoch(
            model, tokenizer, features, objective, optimizer, scheduler, params, generator, device, description, progress
        )
        steps += len(losses)
        examples_seen += len(features)
        epoch_losses.append(float(np.mean(losses)))
        last_loss = losses[-1]
        logger.info("%s: mean loss %.4f over %d steps", description, epoch_losses[-1], len(losses))
        fault_point("train.epoch_end")

    seconds = time.perf_counter() - started
    return TrainStats(
        steps=steps,
        examples_seen=examples_seen,
        seconds=seconds,
        examples_per_second=examples_seen / seconds,
        final_loss=last_loss,
        epoch_losses=tuple(epoch_losses),
    )


def _prediction_batches(lengths: Sequence[int], batch_size: int) -> Iterator[list[int]]:
    """Yield index batches over texts sorted by length, so each batch pads little."""
    order = sorted(range(len(lengths)), key=lambda index: lengths[index])
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def predict(
    model: torch.nn.Module,
    tokenizer: Any,
    texts: Sequence[str],
    *,
    batch_size: int,
    max_length: int,
    device: torch.device,
    progress: bool = True,
    precision: str = "fp32",
) -> tuple[np.ndarray, float]:
    """Return the predicted label id of each text, in input order, and the examples per second.

    Runs in eval mode under ``torch.inference_mode()``, in bf16 autocast when ``precision``
    is ``bf16``, and restores the model's previous training mode afterwards. BERT
    classifiers skip the last layer's work on tokens the head ignores (``cls_logits``).
    """
    started = time.perf_counter()
    features = encode_texts(tokenizer, texts, max_length)
    predictions = np.empty(len(texts), dtype=np.int64)
    was_training = model.training
    model.eval()
    try:
        batches = list(_prediction_batches([len(feature["input_ids"]) for feature in features], batch_size))
        with torch.inference_mode(), autocast(precision, device):
            for indices in tqdm(batches, desc="predict", unit="batch", disable=not progress, leave=False):
                batch = collate(tokenizer, [features[index] for index in indices])
                batch.pop("example_index")
                inputs = _to_device(batch, device)
                logits = cls_logits(model, inputs) if supports_cls_logits(model) else model(**inputs).logits
                predictions[indices] = logits.argmax(dim=-1).cpu().numpy()
    finally:
        model.train(was_training)
    seconds = time.perf_counter() - started
    return predictions, len(texts) / seconds if seconds > 0 else math.inf
