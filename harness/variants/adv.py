"""Embedding-space adversarial training (FreeLB): clean loss plus the mean loss of K PGD steps."""

from __future__ import annotations

import torch

from harness.training.heads import CLASSIFICATION, TaskHead
from harness.variants.composite import CompositeObjective
from harness.variants.params import AdvParams


def build(params: AdvParams, *, teacher: torch.nn.Module | None = None, head: TaskHead = CLASSIFICATION) -> CompositeObjective:
    """Build the FreeLB objective; ``teacher`` is accepted for a uniform signature and ignored."""
    return CompositeObjective(head=head, adv=params)
