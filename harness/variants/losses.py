"""Loss terms that the variants combine: distillation and the R-Drop consistency term.

Every function takes logits of shape (rows, classes), where a row is one predicted
distribution (an example for text classification, a token for tagging).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def distillation_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Return ``T^2 * KL(softmax(teacher / T) || softmax(student / T))``, averaged over rows.

    The ``T^2`` factor keeps the gradient scale independent of ``T`` (Hinton et al., 2015).
    """
    student_log_probs = F.log_softmax(student_logits / temperature, dim=-1)
    teacher_log_probs = F.log_softmax(teacher_logits / temperature, dim=-1)
    kl = F.kl_div(student_log_probs, teacher_log_probs, reduction="batchmean", log_target=True)
    return temperature**2 * kl


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    task_loss: torch.Tensor,
    *,
    temperature: float,
    alpha: float,
) -> torch.Tensor:
    """Return ``(1 - alpha) * task_loss + alpha * T^2 * KL(teacher_T || student_T)``.

    With ``alpha == 0`` the KL term is skipped, so the result is exactly ``task_loss``.
    """
    if alpha == 0:
        return task_loss
    kl = distillation_kl(student_logits, teacher_logits, temperature)
    return (1 - alpha) * task_loss + alpha * kl


def symmetric_kl(logits_a: torch.Tensor, logits_b: torch.Tensor) -> torch.Tensor:
    """Return ``(KL(p_a || p_b) + KL(p_b || p_a)) / 2`` of the softmax distributions, averaged over rows."""
    log_probs_a = F.log_softmax(logits_a, dim=-1)
    log_probs_b = F.log_softmax(logits_b, dim=-1)
    a_to_b = F.kl_div(log_probs_b, log_probs_a, reduction="batchmean", log_target=True)
    b_to_a = F.kl_div(log_probs_a, log_probs_b, reduction="batchmean", log_target=True)
    return (a_to_b + b_to_a) / 2
