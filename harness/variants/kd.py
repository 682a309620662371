"""Knowledge distillation from a fine-tuned teacher; self-distillation when it has the student's architecture."""

from __future__ import annotations

import torch

from harness.training.heads import CLASSIFICATION, TaskHead
from harness.variants.composite import CompositeObjective
from harness.variants.params import KDParams


def build(params: KDParams, *, teacher: torch.nn.Module | None = None, head: TaskHead = CLASSIFICATION) -> CompositeObjective:
    """Build the distillation objective.

    Raises ``ValueError`` when ``teacher`` is None: the executor trains the teacher named by
    ``params.teacher`` first and passes it here.
    """
    return CompositeObjective(head=head, kd=params, teacher=teacher)
