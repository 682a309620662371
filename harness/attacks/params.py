"""Attack parameters shared by every attack of a suite, so rows of a task compare."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class AttackBudget(BaseModel):
    """Attack budget: the number of attacked test examples, their seed, and the model queries each may use."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    examples: int = Field(100, ge=1, description="test examples attacked per unit (the same ones for every unit of a task)")
    query_budget: int = Field(2000, ge=1, description="maximum model queries per attacked example")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="seed choosing the attacked examples from the test split")
    batch_size: int = Field(64, ge=1, description="texts per model forward pass during attacks")
    precision: Literal["fp32", "bf16"] = Field(
        "fp32", description="numeric precision of the attacked model: fp32, or bf16 autocast (slower on CPUs without native bf16)"
    )
