"""Bootstrap intervals of the leaderboard: per attack unit over its attacked examples, per group over seeds.

Every attack unit of a suite attacks the same seeded sample of the test split. Each attacked
example gives two 0/1 outcomes: correct before the attack (clean accuracy on the attacked
sample) and still correct after it (robust accuracy). The intervals come from
``harness.stats``.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.report.rows import ExampleView, LeaderboardRow
from harness.report.views import finite_or_none, unit_anchor
from harness.stats import Interval, mean_interval

GroupKey = tuple[str, str, str, str, str | None]


@dataclass(frozen=True, eq=False)
class UnitSample:
    """The attacked examples of one unit as 0/1 outcome vectors, ordered by example index.

    ``clean_correct`` is 1 where the model's output for the original text met the task's
    goal (for classification: the right class), so the attack was not skipped;
    ``robust_correct`` is 1 where it still did after the attack (outcome "failed").
    Skipped examples are 0 in both vectors.
    """

    indices: tuple[int, ...]
    texts: tuple[str, ...]
    clean_correct: np.ndarray
    robust_correct: np.ndarray

    @classmethod
    def of(cls, examples: Sequence[ExampleView]) -> UnitSample:
        ordered = sorted(examples, key=lambda example: example.index)
        return cls(
            indices=tuple(example.index for example in ordered),
            texts=tuple(example.original_text for example in ordered),
            clean_correct=np.array([example.outcome != "skipped" for example in ordered], dtype=float),
            robust_correct=np.array([example.outcome == "failed" for example in ordered], dtype=float),
        )

    def __len__(self) -> int:
        return len(self.indices)

    def same_examples(self, other: UnitSample) -> bool:
        """Return whether both samples hold the same original texts at the same indices."""
        return self.indices == other.indices and self.texts == other.texts


@functools.lru_cache(maxsize=4096)
def cached_mean_interval(values: tuple[float, ...]) -> Interval:
    """Return ``mean_interval(values)``, computed once per sample: with one seed, aggregates repeat the unit intervals."""
    return mean_interval(values)


def samples_by_unit(examples: Sequence[ExampleView]) -> dict[str, UnitSample]:
    grouped: dict[str, list[ExampleView]] = defaultdict(list)
    for example in examples:
        grouped[example.unit_key].append(example)
    return {key: UnitSample.of(found) for key, found in grouped.items()}


@dataclass(frozen=True)
class UnitIntervals:
    """Robust accuracy and clean accuracy on the attacked sample of one attack unit, each with a 95% interval."""

    unit_key: str
    examples: int
    robust_accuracy: Interval
    attacked_clean_accuracy: Interval

    def to_dict(self) -> dict:
        return {
            "unit_key": self.unit_key,
            "examples": self.examples,
            "robust_accuracy": self.robust_accuracy.to_dict(),
            "attacked_clean_accuracy": self.attacked_clean_accuracy.to_dict(),
        }


def build_unit_intervals(rows: Sequence[LeaderboardRow], samples: dict[str, UnitSample]) -> dict[str, UnitIntervals]:
    """Bootstrap each finished attack unit's accuracies over its stored attacked examples.

    Units without stored examples get no entry.
    """
    intervals = {}
    for row in rows:
        sample = samples.get(row.unit_key)
        if row.attack is None or row.status != "done" or sample is None or len(sample) == 0:
            continue
        intervals[row.unit_key] = UnitIntervals(
            unit_key=row.unit_key, examples=len(sample),
            robust_accuracy=cached_mean_interval(tuple(sample.robust_correct)),
            attacked_clean_accuracy=cached_mean_interval(tuple(sample.clean_correct)),
        )
    return intervals


@dataclass(frozen=True)
class Estimate:
    """A mean over seeds with two 95% intervals.

    ``over_seeds`` bootstraps the per-seed values (None with fewer than two seeds).
    ``over_examples`` bootstraps the attacked examples, each scored by its mean outcome over
    the seeds. It is None for metrics without per-example data or when the seeds attacked
    different texts. ``note`` gives the reason when an interval is missing.
    """

    mean: float
    over_seeds: Interval | None
    over_examples: Interval | None
    note: str | None = None

    def to_dict(self) -> dict:
        return {
            "mean": self.mean,
            "over_seeds": None if self.over_seeds is None else self.over_seeds.to_dict(),
            "over_examples": None if self.over_examples is None else self.over_examples.to_dict(),
            "note": self.note,
        }


@dataclass(frozen=True)
class SeedUnit:
    """One seed's finished unit inside an aggregate, with the HTML id of its examples section."""

    seed: int
    unit_key: str
    anchor: str | None


@dataclass(frozen=True)
class Aggregate:
    """One (task, dataset, model, variant, attack) over its seeds; ``attack`` is None for models that were not attacked."""

    task: str
    dataset: str
    dataset_generated: bool
    model: str
    variant: str
    variant_kind: str | None
    attack: str | None
    units: tuple[SeedUnit, ...]
    failed_seeds: tuple[int, ...]
    robust_accuracy: Estimate | None
    attacked_clean_accuracy: Estimate | None
    clean_accuracy: Estimate | None
    attack_success_rate: float | None
    train_seconds: float | None
    attack_seconds: float | None
    train_examples_per_second: float | None
    attack_examples_per_second: float | None
    # Validity means over seeds; None unless every finished seed's successful attacks are scored.
    robust_accuracy_valid: float | None = None
    valid_attack_share: float | None = None
    mean_similarity: float | None = None
    mean_perplexity_ratio: float | None = None

    @property
    def seeds(self) -> tuple[int, ...]:
        return tuple(unit.seed for unit in self.units)

    def to_dict(self) -> dict:
        def optional(estimate: Estimate | None) -> dict | None:
            return None if estimate is None else estimate.to_dict()

        return {
            "task": self.task, "dataset": self.dataset, "model": self.model, "variant": self.variant,
            "variant_kind": self.variant_kind, "attack": self.attack, "seeds": list(self.seeds),
            "seed_count": len(self.units), "unit_keys": [unit.unit_key for unit in self.units],
            "failed_seeds": list(self.failed_seeds),
            "robust_accuracy": optional(self.robust_accuracy),
            "attacked_clean_accuracy": optional(self.attacked_clean_accuracy),
            "clean_accuracy": optional(self.clean_accuracy),
            "attack_success_rate": finite_or_none(self.attack_success_rate),
            "train_seconds": finite_or_none(self.train_seconds),
            "attack_seconds": finite_or_none(self.attack_seconds),
            "train_examples_per_second": finite_or_none(self.train_examples_per_second),
            "attack_examples_per_second": finite_or_none(self.attack_examples_per_second),
            "robust_accuracy_valid": finite_or_none(self.robust_accuracy_valid),
            "valid_attack_share": finite_or_none(self.valid_attack_share),
            "mean_similarity": finite_or_none(self.mean_similarity),
            "mean_perplexity_ratio": finite_or_none(self.mean_perplexity_ratio),
        }


def group_key(row: LeaderboardRow) -> GroupKey:
    return (row.task, row.dataset, row.model, row.variant, row.attack)


def build_aggregates(rows: Sequence[LeaderboardRow], samples: dict[str, UnitSample]) -> list[Aggregate]:
    """Average each (task, dataset, model, variant, attack) over its finished seeds.

    Failed units do not count; their seeds are listed in ``failed_seeds``. A seed with
    several finished rows (which a single plan does not produce) counts each row.
    """
    groups: dict[GroupKey, list[LeaderboardRow]] = defaultdict(list)
    for row in rows:
        groups[group_key(row)].append(row)

    aggregates = []
    for key in sorted(groups, key=lambda key: (*key[:4], key[4] is not None, key[4] or "")):
        members = groups[key]
        done = sorted((row for row in members if row.status == "done"), key=lambda row: (row.seed, row.unit_key))
        first = members[0]
        unit_samples = [samples.get(row.unit_key) for row in done]
        aggregates.append(Aggregate(
            task=first.task, dataset=first.dataset,
            dataset_generated=any(row.dataset_generated for row in members), model=first.model,
            variant=first.variant, variant_kind=first.variant_kind, attack=first.attack,
            units=tuple(
                SeedUnit(row.seed, row.unit_key, unit_anchor(row.unit_key) if row.attack is not None else None)
                for row in done
            ),
            failed_seeds=tuple(sorted(row.seed for row in members if row.status != "done")),
            robust_accuracy=_estimate([row.robust_accuracy for row in done], unit_samples, "robust_correct"),
            attacked_clean_accuracy=_estimate(
                [_attacked_clean(row) for row in done], unit_samples, "clean_correct"),
            clean_accuracy=_estimate([row.clean_accuracy for row in done], None, None),
            attack_success_rate=_mean([row.attack_success_rate for row in done]),
            train_seconds=_mean([row.train_seconds for row in done]),
            attack_seconds=_mean([row.attack_seconds for row in done]),
            train_examples_per_second=_mean([row.train_examples_per_second for row in done]),
            attack_examples_per_second=_mean([row.attack_examples_per_second for row in done]),
            robust_accuracy_valid=_mean_of_all([row.robust_accuracy_valid for row in done]),
            valid_attack_share=_mean_of_all([row.valid_attack_share for row in done]),
            mean_similarity=_mean_of_all([row.mean_similarity for row in done]),
            mean_perplexity_ratio=_mean_of_all([row.mean_perplexity_ratio for row in done]),
        ))
    return aggregates


def _attacked_clean(row: LeaderboardRow) -> float | None:
    if not row.attacked or row.skipped is None:
        return None
    return (row.attacked - row.skipped) / row.attacked


def _mean(values: Sequence[float | None]) -> float | None:
    present = [value for value in values if finite_or_none(value) is not None]
    return float(np.mean(present)) if present else None


def _mean_of_all(values: Sequence[float | None]) -> float | None:
    """Average ``values`` only when every one is present, so an unscored seed never shifts the mean."""
    present = [finite_or_none(value) for value in values]
    if not present or any(value is None for value in present):
        return None
    return float(np.mean(present))


def _estimate(values: Sequence[float | None], unit_samples: Sequence[UnitSample | None] | None,
              vector: str | None) -> Estimate | None:
    """Build the mean of the per-seed ``values`` with its interval over seeds and, given samples, over examples.

    Seeds whose value is missing are left out of both intervals.
    """
    present = [index for index, value in enumerate(values) if finite_or_none(value) is not None]
    if not present:
        return None
    per_seed = [float(values[index]) for index in present]
    over_seeds = cached_mean_interval(tuple(per_seed)) if len(per_seed) >= 2 else None
    note = None if over_seeds is not None else "one seed: no interval over seeds"
    if unit_samples is None or vector is None:
        return Estimate(float(np.mean(per_seed)), over_seeds, None, note)

    chosen = [unit_samples[index] for index in present]
    if any(sample is None or len(sample) == 0 for sample in chosen):
        return Estimate(float(np.mean(per_seed)), over_seeds, None, "no stored examples for some seeds")
    if not all(sample.same_examples(chosen[0]) for sample in chosen[1:]):
        return Estimate(float(np.mean(per_seed)), over_seeds, None, "the seeds attacked different texts")
    # Each example's outcome averaged over the seeds; with one seed this is the unit's own vector.
    per_example = np.mean([getattr(sample, vector) for sample in chosen], axis=0)
    return Estimate(float(np.mean(per_seed)), over_seeds, cached_mean_interval(tuple(per_example)), note)
