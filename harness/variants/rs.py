"""adv, kd and reg in one objective: FreeLB steps, distillation and R-Drop with dropout and weight decay."""

from __future__ import annotations

import torch

from harness.training.heads import CLASSIFICATION, TaskHead
from harness.variants.composite import CompositeObjective
from harness.variants.params import RSParams


def build(params: RSParams, *, teacher: torch.nn.Module | None = None, head: TaskHead = CLASSIFICATION) -> CompositeObjective:
    """Build the combined objective; raises ``ValueError`` when ``teacher`` is None."""
    return CompositeObjective(head=head, adv=params.adv, kd=params.kd, teacher=teacher, reg=params.reg)
