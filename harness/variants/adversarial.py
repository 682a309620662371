"""Embedding-space adversarial training in the FreeLB style (Zhu et al., 2020).

A perturbation ``delta`` of shape (batch, tokens, hidden) is added to the word embeddings.
Padding positions, and tokens outside the batch's ``perturb_mask`` when it has one, are
always zero in ``delta``, and the norm of each example's ``delta`` is
taken over all its tokens and hidden units together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from harness.training.heads import Batch, TaskHead
from harness.variants.params import AdvParams

# Keeps the l2 normalisation finite when a gradient or perturbation is exactly zero.
_TINY = 1e-12

LossFunction = Callable[[torch.Tensor, Batch], torch.Tensor]


def _example_norms(delta: torch.Tensor) -> torch.Tensor:
    """l2 norm of each example's perturbation, shape (batch, 1, 1) for broadcasting."""
    return delta.flatten(start_dim=1).norm(dim=1).view(-1, 1, 1)


def project(delta: torch.Tensor, mask: torch.Tensor, *, epsilon: float, norm: str) -> torch.Tensor:
    """Project ``delta`` into the ``norm`` ball of radius ``epsilon`` per example and zero padding.

    ``mask`` is the attention mask, shape (batch, tokens), 1 for real tokens.
    """
    delta = delta * mask.unsqueeze(-1).to(delta.dtype)
    if norm == "linf":
        return delta.clamp(-epsilon, epsilon)
    if norm == "l2":
        scale = (epsilon / (_example_norms(delta) + _TINY)).clamp(max=1.0)
        return delta * scale
    raise ValueError(f"unknown norm {norm!r}: use 'l2' or 'linf'")


def ascend(delta: torch.Tensor, grad: torch.Tensor, *, step_size: float, norm: str) -> torch.Tensor:
    """Take one gradient-ascent step: the sign of ``grad`` for linf, ``grad`` over its l2 norm per example for l2."""
    if norm == "linf":
        return delta + step_size * grad.sign()
    if norm == "l2":
        return delta + step_size * grad / (_example_norms(grad) + _TINY)
    raise ValueError(f"unknown norm {norm!r}: use 'l2' or 'linf'")


def initial_perturbation(embeds: torch.Tensor, mask: torch.Tensor, params: AdvParams) -> torch.Tensor:
    """Draw ``delta`` uniform in ``[-init_magnitude, init_magnitude]`` from torch's global generator, then project it."""
    delta = torch.empty_like(embeds).uniform_(-params.init_magnitude, params.init_magnitude)
    return project(delta, mask, epsilon=params.epsilon, norm=params.norm)


@dataclass(frozen=True)
class AdversarialResult:
    """Mean adversarial loss over the ascent steps and the perturbation used at each step."""

    loss: float
    perturbations: tuple[torch.Tensor, ...]


def adversarial_backward(
    model: torch.nn.Module,
    head: TaskHead,
    batch: Batch,
    params: AdvParams,
    loss_fn: LossFunction,
) -> AdversarialResult:
    """Accumulate ``params.weight`` times the mean adversarial loss of ``params.steps`` FreeLB steps into the gradients.

    Each step runs the model on the word embeddings plus ``delta``, calls ``backward`` on
    ``weight * loss / steps`` (so the parameter gradients of the steps are averaged), then
    moves ``delta`` one ascent step along its gradient and projects it back into the ball.
    ``loss_fn(logits, batch)`` returns the scalar loss to maximise and to train on.
    The caller zeroes the gradients before and steps the optimiser after.
    """
    embedding = model.get_input_embeddings()
    # A head that must keep some tokens clean (the target of a generation task) marks the
    # perturbed tokens with ``perturb_mask``. Without it, every real token is perturbed.
    restricted = "perturb_mask" in batch
    mask = batch["perturb_mask"] if restricted else batch["attention_mask"]
    with torch.no_grad():
        delta = initial_perturbation(embedding(batch["input_ids"]), mask, params)

    used: list[torch.Tensor] = []
    total = 0.0
    for _ in range(params.steps):
        delta.requires_grad_(True)
        # The embeddings are looked up again each step because backward frees the graph
        # and the embedding matrix is trained too.
        embeds = embedding(batch["input_ids"])
        loss = loss_fn(head.logits(model, batch, inputs_embeds=embeds + delta), batch)
        (params.weight * loss / params.steps).backward()
        total += loss.item()
        used.append(delta.detach().clone())

        grad = delta.grad.detach()
        if restricted:
            # Gradients at unperturbed tokens would shrink the l2 step of the perturbed ones.
            grad = grad * mask.unsqueeze(-1).to(grad.dtype)
        with torch.no_grad():
            delta = ascend(delta.detach(), grad, step_size=params.step_size, norm=params.norm)
            delta = project(delta, mask, epsilon=params.epsilon, norm=params.norm)

    return AdversarialResult(loss=total / params.steps, perturbations=tuple(used))
