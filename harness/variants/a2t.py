"""Adversarial training with discrete adversarial examples made by a cheap TextAttack attack (A2T).

At the start of each epoch from ``start_epoch`` on, the current model attacks a random
``fraction`` of the training set and each adversarial text found joins that epoch's data
with the label of its original.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

from harness.tasks.base import LabeledTexts
from harness.training.heads import CLASSIFICATION, Batch, TaskHead
from harness.training.params import TrainingParams
from harness.variants.composite import CompositeObjective
from harness.variants.params import A2TParams

logger = logging.getLogger(__name__)

# Signature of harness.attacks.runner.generate_adversarial_examples: returns one text per
# input, or None where the attack found no adversarial example.
Generator = Callable[..., Sequence[str | None]]


def _default_generator() -> Generator:
    # Imported on first use so that building the objective needs no TextAttack.
    from harness.attacks.runner import generate_adversarial_examples

    return generate_adversarial_examples


class A2TObjective(CompositeObjective):
    """Cross-entropy on the training set plus, from ``start_epoch`` on, its adversarial examples.

    Adversarial examples come after the originals in the epoch's data, so an
    ``example_index`` at or past the original size marks one, and its loss is weighted by
    ``params.weight``.
    """

    def __init__(self, params: A2TParams, *, head: TaskHead = CLASSIFICATION, generator: Generator | None = None):
        super().__init__(head=head)
        self.params = params
        self._generator = generator
        self._original_size: int | None = None

    def planned_epoch_size(self, epoch: int, size: int) -> int:
        if epoch < self.params.start_epoch:
            return size
        return size + self._attacked_count(size)

    def _attacked_count(self, size: int) -> int:
        return min(size, math.ceil(self.params.fraction * size))

    def augment(
        self,
        epoch: int,
        model: torch.nn.Module,
        tokenizer: Any,
        data: LabeledTexts,
        device: torch.device,
        *,
        training: TrainingParams,
        progress: bool,
    ) -> LabeledTexts:
        self._original_size = len(data)
        if epoch < self.params.start_epoch or len(data) == 0:
            return data

        # The attacked examples are drawn from torch's global generator, which
        # harness.training.loop.train seeds, so a run's choice follows its seed.
        chosen = torch.randperm(len(data))[: self._attacked_count(len(data))].sort().values.tolist()
        attacked = data.subset(chosen)
        generate = self._generator or _default_generator()
        # A task whose attacks must keep some words unchanged (the entity mentions of
        # relation extraction) gives its head an ``attack_constraints`` method.
        constraints = getattr(self.head, "attack_constraints", None)
        extra = {"pre_transformation_constraints": constraints()} if constraints is not None else {}
        adversarial = generate(
            model,
            tokenizer,
            list(attacked.texts),
            list(attacked.labels),
            attack_name=self.params.attack,
            query_budget=self.params.query_budget,
            batch_size=training.eval_batch_size,
            max_length=training.max_length,
            device=device,
            progress=progress,
            **extra,
        )
        if len(adversarial) != len(attacked):
            raise ValueError(f"the adversarial example generator returned {len(adversarial)} results for {len(attacked)} texts")

        found = [(text, label) for text, label in zip(adversarial, attacked.labels) if text is not None]
        logger.info("epoch %d: %d of %d attacked training examples have an adversarial example", epoch, len(found), len(attacked))
        return LabeledTexts(
            data.texts + tuple(text for text, _ in found),
            data.labels + tuple(label for _, label in found),
            data.label_names,
        )

    def example_weights(self, batch: Batch) -> torch.Tensor | None:
        if self.params.weight == 1.0 or self._original_size is None:
            return None
        is_adversarial = batch["example_index"] >= self._original_size
        weights = torch.ones(is_adversarial.shape, dtype=torch.float32, device=is_adversarial.device)
        weights[is_adversarial] = self.params.weight
        return weights


def build(
    params: A2TParams,
    *,
    teacher: torch.nn.Module | None = None,
    head: TaskHead = CLASSIFICATION,
    generator: Generator | None = None,
) -> A2TObjective:
    """Build the A2T objective.

    ``generator`` replaces ``harness.attacks.runner.generate_adversarial_examples`` (tests
    pass a fake one); ``teacher`` is accepted for a uniform signature and ignored.
    """
    return A2TObjective(params, head=head, generator=generator)
