"""Thresholds that decide whether a successful adversarial example counts as valid."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

if TYPE_CHECKING:
    from harness.store import Store

logger = logging.getLogger(__name__)

# Name of the store's meta entry with the validity settings of the last run, as JSON.
META_NAME = "validity"

# Defaults. The similarity is the cosine of whole-text multilingual USE v3 embeddings
# (the packaged numpy port). TextAttack 0.3.11's TextFooler recipe requires an angular
# similarity of at least 0.840845057 (a cosine of about 0.878) between USE embeddings of a
# 15-word window around each swap. A whole text dilutes a local change more than a window
# does, so a whole-text cosine of 0.8 is looser than TextFooler's constraint and flags only
# clear changes of meaning. A perplexity ratio of 2 lets the language model find the
# perturbed text at most twice as surprising per token as the original. On the embedded
# suite's results (suites/embedded.yaml, 100 Rotten Tomatoes snippets) 64% of PWWS and 53% of
# a2t-fast successes stay under it, against 21% of DeepWordBug's, whose character edits
# split words into rare subword pieces. Both defaults are judgment calls, not values from a
# study: set them in the suite and compare the columns.
DEFAULT_MIN_SIMILARITY = 0.8
DEFAULT_MAX_PERPLEXITY_RATIO = 2.0


class ValidityParams(BaseModel):
    """The ``validity:`` section of a suite: thresholds and the fluency model."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    min_similarity: float = Field(
        DEFAULT_MIN_SIMILARITY, ge=-1.0, le=1.0,
        description="lowest cosine similarity of original and perturbed text (USE embeddings) for a valid attack",
    )
    max_perplexity_ratio: float = Field(
        DEFAULT_MAX_PERPLEXITY_RATIO, gt=0.0,
        description="highest perplexity(perturbed) / perplexity(original) under the fluency model for a valid attack",
    )
    fluency_model: Literal["smollm2", "none"] = Field(
        "smollm2", description="causal LM that scores perplexity; 'none' skips fluency and its threshold",
    )
    batch_size: int = Field(16, ge=1, description="texts per forward pass of the scorers")
    max_tokens: int = Field(256, ge=2, description="tokens per text scored by the fluency model; longer texts are truncated")

    @property
    def fluency(self) -> bool:
        return self.fluency_model != "none"

    def thresholds(self) -> dict[str, object]:
        """Return the settings that decide validity, as the leaderboard reports them."""
        return {
            "min_similarity": self.min_similarity,
            "max_perplexity_ratio": self.max_perplexity_ratio if self.fluency else None,
            "fluency_model": self.fluency_model,
        }


def stored_validity_params(store: Store) -> ValidityParams:
    """Return the validity settings that the last ``rsbench run`` stored, or the defaults when there are none."""
    stored = store.meta(META_NAME)
    if stored is None:
        return ValidityParams()
    try:
        return ValidityParams.model_validate_json(stored)
    except ValidationError as error:
        logger.warning("%s: stored validity settings are invalid (%s); using the defaults", store.path, error)
        return ValidityParams()
