"""Per-unit validity figures: mean scores over successful attacks and robust accuracy when only valid attacks count."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from harness.store import Store
from harness.validity.params import ValidityParams
from harness.validity.scorers import perplexity_ratio


@dataclass(frozen=True)
class ExampleScores:
    """The validity scores of one successful attack; None where a score is missing."""

    similarity: float | None
    perplexity_original: float | None
    perplexity_perturbed: float | None

    @property
    def perplexity_ratio(self) -> float | None:
        return perplexity_ratio(self.perplexity_original, self.perplexity_perturbed)


@dataclass(frozen=True)
class ValiditySummary:
    """Validity figures of one attack unit; each is None while a successful attack lacks a needed score.

    ``valid_attack_share`` is the share of successful attacks that pass the thresholds.
    ``robust_accuracy_valid`` is robust accuracy when an attack counts as successful only if
    it is valid: (failed + invalid successful attacks) / attacked examples.
    """

    scored: int
    mean_similarity: float | None
    mean_perplexity_ratio: float | None
    valid_attack_share: float | None
    robust_accuracy_valid: float | None


def is_valid(scores: ExampleScores, params: ValidityParams) -> bool | None:
    """Tell whether a successful attack passes the thresholds; None when a needed score is missing.

    A perplexity ratio that cannot be formed (the perturbed text has no tokens) fails the fluency threshold.
    """
    if scores.similarity is None:
        return None
    if scores.similarity < params.min_similarity:
        return False
    if not params.fluency:
        return True
    if scores.perplexity_original is None and scores.perplexity_perturbed is None:
        return None
    ratio = scores.perplexity_ratio
    return ratio is not None and ratio <= params.max_perplexity_ratio


def summarize_unit(scores: Sequence[ExampleScores], *, attacked: int, failed: int, params: ValidityParams) -> ValiditySummary:
    """Summarize the scores of a unit's successful attacks, given the unit's attacked and failed counts."""
    verdicts = [is_valid(example, params) for example in scores]
    complete = all(verdict is not None for verdict in verdicts)
    similarities = [example.similarity for example in scores if example.similarity is not None]
    ratios = [example.perplexity_ratio for example in scores if example.perplexity_ratio is not None]
    mean_similarity = statistics.fmean(similarities) if similarities and len(similarities) == len(scores) else None
    mean_ratio = None
    if params.fluency and ratios and complete:
        mean_ratio = statistics.fmean(ratios)
    share = None
    robust_valid = None
    if complete:
        valid = sum(1 for verdict in verdicts if verdict)
        share = valid / len(scores) if scores else None
        robust_valid = (failed + len(scores) - valid) / attacked if attacked else None
    return ValiditySummary(scored=len(similarities), mean_similarity=mean_similarity, mean_perplexity_ratio=mean_ratio,
                           valid_attack_share=share, robust_accuracy_valid=robust_valid)


def unit_summaries(store: Store, params: ValidityParams, attack_metrics: Mapping[str, Mapping] | None = None) -> dict[str, ValiditySummary]:
    """Return the validity summary of every attack unit that has attack metrics in ``store``.

    Only scores of successful attacks are read; a unit whose successful attacks are not all
    scored gets None figures (``scored`` still counts the scored ones).
    """
    metrics = store.attack_metrics() if attack_metrics is None else attack_metrics
    by_unit: dict[str, list[ExampleScores]] = defaultdict(list)
    for row in store.validity_examples():
        by_unit[row["unit_key"]].append(ExampleScores(row["similarity"], row["perplexity_original"], row["perplexity_perturbed"]))
    summaries = {}
    for key, row in metrics.items():
        summaries[key] = summarize_unit(by_unit.get(key, []), attacked=row["attacked"], failed=row["failed"], params=params)
    return summaries


def validity_fields(summary: ValiditySummary | None) -> dict[str, float | None]:
    """Return the ``LeaderboardRow`` validity fields of a unit; all None for units without a summary."""
    if summary is None:
        return {}
    return {
        "robust_accuracy_valid": summary.robust_accuracy_valid,
        "valid_attack_share": summary.valid_attack_share,
        "mean_similarity": summary.mean_similarity,
        "mean_perplexity_ratio": summary.mean_perplexity_ratio,
    }


def example_validity_fields(row: Mapping | None) -> dict[str, float | None]:
    """Return the ``ExampleView`` validity fields from a row of ``Store.validity_examples``; empty when unscored."""
    if row is None:
        return {}
    return {
        "similarity": row["similarity"],
        "perplexity_ratio": perplexity_ratio(row["perplexity_original"], row["perplexity_perturbed"]),
    }
