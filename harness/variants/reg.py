"""Regularization: weight decay, hidden and attention dropout, and the R-Drop consistency loss."""

from __future__ import annotations

import torch

from harness.training.heads import CLASSIFICATION, TaskHead
from harness.variants.composite import CompositeObjective
from harness.variants.params import RegParams


def build(params: RegParams, *, teacher: torch.nn.Module | None = None, head: TaskHead = CLASSIFICATION) -> CompositeObjective:
    """Build the regularization objective; ``teacher`` is accepted for a uniform signature and ignored."""
    return CompositeObjective(head=head, reg=params)
