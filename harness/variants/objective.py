"""The interface between the training loop and a training variant."""

from __future__ import annotations

from typing import Any, Protocol

import torch

from harness.tasks.base import LabeledTexts
from harness.training.heads import Batch, TaskHead
from harness.training.params import TrainingParams


class Objective(Protocol):
    """Hooks through which a variant changes fine-tuning, called by ``harness.training.loop.train``.

    Order of calls: ``configure_model`` once, ``weight_decay`` and ``planned_epoch_size`` to
    build the optimiser and the schedule, then per epoch ``epoch_data`` and ``step`` per batch.
    """

    head: TaskHead

    def configure_model(self, model: torch.nn.Module) -> None:
        """Change the model before training starts, for example its dropout rates."""
        ...

    def weight_decay(self, default: float) -> float:
        """AdamW weight decay for weights other than biases and LayerNorm; ``default`` comes from the suite."""
        ...

    def planned_epoch_size(self, epoch: int, size: int) -> int:
        """Maximum number of examples that ``epoch_data`` returns in ``epoch`` for a training set of ``size``.

        The learning-rate schedule is planned from these numbers.
        """
        ...

    def epoch_data(
        self,
        epoch: int,
        model: torch.nn.Module,
        tokenizer: Any,
        data: LabeledTexts,
        device: torch.device,
        *,
        training: TrainingParams,
        progress: bool = False,
    ) -> LabeledTexts:
        """Return the training examples of ``epoch`` (0-based), ``data`` itself unless the variant adds some.

        The loop puts the model back into training mode after this call.
        """
        ...

    def step(self, model: torch.nn.Module, batch: Batch) -> float:
        """Compute the losses of one batch and call ``backward``; return the loss as a float.

        ``batch`` is on the model's device. The loop zeroes the gradients before, then clips
        them and steps the optimiser and the schedule.
        """
        ...
