"""Decoding settings of generation tasks; they are part of every unit's hash."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Decoding(BaseModel):
    """Decoding strategy of generation: greedy or beam search, and the output length limit."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    strategy: Literal["greedy", "beam"] = Field("greedy", description="greedy decoding, or beam search with num_beams beams")
    num_beams: int = Field(4, ge=2, le=16, description="beams of beam search; unused by greedy decoding")
    max_new_tokens: int = Field(32, ge=1, le=1024, description="most tokens generated per output")

