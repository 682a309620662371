"""Training settings shared by every variant of a suite."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TrainingParams(BaseModel):
    """Optimiser, schedule and batching for fine-tuning; variants add their own terms."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    epochs: int = Field(2, ge=1, le=1000)
    batch_size: int = Field(32, ge=1)
    eval_batch_size: int = Field(128, ge=1)
    learning_rate: float = Field(5e-5, gt=0, le=1)
    warmup_ratio: float = Field(0.1, ge=0, lt=1, description="share of steps with linear warm-up")
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay; the reg variant sets its own")
    max_grad_norm: float = Field(1.0, gt=0)
    max_length: int = Field(128, ge=8, le=4096, description="tokens per text after truncation")
    precision: Literal["fp32", "bf16"] = Field(
        "fp32", description="numeric precision of clean evaluation: fp32, or bf16 autocast (slower on CPUs without native bf16)"
    )
