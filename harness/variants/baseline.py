"""Baseline fine-tuning: cross-entropy, AdamW with the suite's weight decay, no extra terms."""

from __future__ import annotations

import torch

from harness.training.heads import CLASSIFICATION, TaskHead
from harness.variants.composite import CompositeObjective
from harness.variants.params import BaselineParams


def build(params: BaselineParams, *, teacher: torch.nn.Module | None = None, head: TaskHead = CLASSIFICATION) -> CompositeObjective:
    """Build the baseline objective; ``teacher`` is accepted for a uniform signature and ignored."""
    return CompositeObjective(head=head)
