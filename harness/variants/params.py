"""Hyperparameters of each training variant, with their documented defaults.

These models are imported when a suite is validated, so they must stay free of torch.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class BaselineParams(Params):
    """Standard fine-tuning: AdamW, linear warm-up and decay, dynamic padding."""


class AdvParams(Params):
    """Embedding-space adversarial training (FreeLB style).

    A perturbation ``delta`` on the word embeddings (shape batch x tokens x hidden) starts
    uniform in ``[-init_magnitude, init_magnitude]`` and takes ``steps`` gradient-ascent
    steps of size ``step_size``, each projected back into the ``norm`` ball of radius
    ``epsilon`` per example. The parameter gradients of all ascent steps are averaged.
    """

    # The defaults bound the whole perturbation of an example to a fifth of one token's
    # embedding norm (about 1.07 in all-MiniLM-L6-v2). With epsilon 1.0 and step 0.5, the
    # 3-layer student of the embedded suite stopped learning and predicted one class.
    steps: int = Field(2, ge=1, le=20, description="ascent steps K per batch")
    epsilon: float = Field(0.2, gt=0, description="radius of the perturbation ball per example")
    step_size: float = Field(0.1, gt=0, description="size of one ascent step")
    init_magnitude: float = Field(0.002, ge=0, description="half-width of the uniform initial perturbation, per element")
    norm: Literal["l2", "linf"] = "l2"
    weight: float = Field(1.0, ge=0, description="weight of the adversarial loss next to the clean loss")


class A2TParams(Params):
    """Adversarial training with discrete examples from a cheap TextAttack attack (A2T idea).

    From epoch ``start_epoch`` on, at the start of each epoch the model (in eval mode)
    attacks a random ``fraction`` of the training set with ``attack``. The successful
    adversarial texts join that epoch's training data with their original labels.
    """

    attack: str = Field("a2t-fast", description="attack from the attack registry used during training")
    fraction: float = Field(0.2, gt=0, le=1, description="share of training examples attacked per epoch")
    start_epoch: int = Field(1, ge=0, description="first epoch (0-based) that uses adversarial examples")
    query_budget: int = Field(50, ge=1, description="model queries per attacked example")
    weight: float = Field(1.0, ge=0, description="loss weight of adversarial examples")


class KDParams(Params):
    """Knowledge distillation: ``(1 - alpha) * CE(labels) + alpha * T^2 * KL(teacher_T || student_T)``."""

    teacher: str = Field("self", description="a model name of the suite, or 'self' for self-distillation")
    teacher_variant: str = Field("baseline", description="variant the teacher is trained with first")
    temperature: float = Field(2.0, gt=0)
    alpha: float = Field(0.5, ge=0, le=1)


class RegParams(Params):
    """Regularization: weight decay, dropout rates and an R-Drop consistency loss."""

    weight_decay: float = Field(0.01, ge=0, description="AdamW weight decay (not on biases and LayerNorm)")
    hidden_dropout: float = Field(0.1, ge=0, lt=1)
    attention_dropout: float = Field(0.1, ge=0, lt=1)
    rdrop_alpha: float = Field(1.0, ge=0, description="weight of the symmetric KL between two dropout passes; 0 turns it off")


class RSParams(Params):
    """adv, kd and reg together."""

    adv: AdvParams = AdvParams()
    kd: KDParams = KDParams()
    reg: RegParams = RegParams()
