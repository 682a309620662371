"""Each variant's robust accuracy against the baseline-kind variant of the same task, model, attack and seed.

Within one seed the difference is paired over the attacked examples, which must be the same
texts at the same indices in both units. Over several seeds the estimate is the mean of the
per-seed differences, with two intervals: one over the attacked examples, each scored by
its outcome averaged over the seeds, and one over the per-seed differences. A difference is
marked only when every available interval excludes zero on the same side.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.report.rows import LeaderboardRow
from harness.report.uncertainty import UnitSample
from harness.report.views import finite_or_none, unit_anchor
from harness.stats import Interval, paired_difference_interval

BASELINE_KIND = "baseline"


def interval_direction(interval: Interval | None) -> int:
    """Return 1 when the interval lies above zero, -1 when below, else 0."""
    if interval is None:
        return 0
    if interval.low > 0.0:
        return 1
    if interval.high < 0.0:
        return -1
    return 0


@functools.lru_cache(maxsize=4096)
def cached_paired_interval(reference: tuple[float, ...], candidate: tuple[float, ...]) -> Interval:
    """Return ``paired_difference_interval``, computed once per pair: with one seed, the comparison repeats the seed's."""
    return paired_difference_interval(reference, candidate)


@dataclass(frozen=True)
class Gain:
    """Robust accuracy gained per extra training minute (a fraction per minute), or why it is undefined."""

    per_minute: float | None
    reason: str | None

    @classmethod
    def of(cls, difference: float | None, extra_train_seconds: float | None) -> Gain:
        if difference is None:
            return cls(None, "no paired robust accuracy difference")
        if extra_train_seconds is None:
            return cls(None, "the training time of the variant or of the baseline is missing")
        if extra_train_seconds <= 0.0:
            return cls(None, f"the variant trained no longer than the baseline ({extra_train_seconds:+.1f} s), "
                             "so a gain per extra minute is undefined")
        return cls(difference / (extra_train_seconds / 60.0), None)


@dataclass(frozen=True)
class SeedComparison:
    """One seed: the variant's unit against the baseline's unit, paired over the attacked examples."""

    seed: int
    unit_key: str
    reference_unit_key: str
    examples: int
    difference: Interval | None
    note: str | None
    extra_train_seconds: float | None
    gain: Gain

    @property
    def anchor(self) -> str:
        return unit_anchor(self.unit_key)

    @property
    def reference_anchor(self) -> str:
        return unit_anchor(self.reference_unit_key)

    @property
    def direction(self) -> int:
        return interval_direction(self.difference)

    def to_dict(self) -> dict:
        return {
            "seed": self.seed, "unit_key": self.unit_key, "reference_unit_key": self.reference_unit_key,
            "examples": self.examples,
            "difference": None if self.difference is None else self.difference.to_dict(),
            "excludes_zero": self.direction != 0, "note": self.note,
            "extra_train_seconds": finite_or_none(self.extra_train_seconds),
            "gain_per_extra_training_minute": finite_or_none(self.gain.per_minute),
            "gain_undefined_reason": self.gain.reason,
        }


@dataclass(frozen=True)
class Comparison:
    """A variant against a baseline-kind variant under one attack, over the seeds both finished.

    ``difference`` is candidate minus reference robust accuracy, averaged over the seeds whose
    attacked texts match; None when no seed matches.
    """

    task: str
    dataset: str
    dataset_generated: bool
    model: str
    variant: str
    variant_kind: str | None
    reference_variant: str
    attack: str
    seeds: tuple[SeedComparison, ...]
    robust_accuracy: float | None
    reference_robust_accuracy: float | None
    difference: float | None
    over_examples: Interval | None
    over_seeds: Interval | None
    note: str | None
    extra_train_seconds: float | None
    gain: Gain

    @property
    def paired_seeds(self) -> tuple[SeedComparison, ...]:
        return tuple(seed for seed in self.seeds if seed.difference is not None)

    @property
    def direction(self) -> int:
        """Return 1 or -1 when every available interval excludes zero on that side, else 0."""
        on_examples = interval_direction(self.over_examples)
        if self.over_seeds is None:
            return on_examples
        return on_examples if on_examples == interval_direction(self.over_seeds) else 0

    def to_dict(self) -> dict:
        return {
            "task": self.task, "dataset": self.dataset, "model": self.model, "variant": self.variant,
            "variant_kind": self.variant_kind, "reference_variant": self.reference_variant, "attack": self.attack,
            "seeds": [seed.seed for seed in self.paired_seeds],
            "robust_accuracy": finite_or_none(self.robust_accuracy),
            "reference_robust_accuracy": finite_or_none(self.reference_robust_accuracy),
            "difference": finite_or_none(self.difference),
            "over_examples": None if self.over_examples is None else self.over_examples.to_dict(),
            "over_seeds": None if self.over_seeds is None else self.over_seeds.to_dict(),
            "excludes_zero": self.direction != 0, "note": self.note,
            "extra_train_seconds": finite_or_none(self.extra_train_seconds),
            "gain_per_extra_training_minute": finite_or_none(self.gain.per_minute),
            "gain_undefined_reason": self.gain.reason,
            "per_seed": [seed.to_dict() for seed in self.seeds],
        }


def build_comparisons(rows: Sequence[LeaderboardRow], samples: dict[str, UnitSample]) -> list[Comparison]:
    """Compare every finished attack unit with each baseline-kind unit of the same task, dataset, model, attack and seed.

    The reference is found by ``variant_kind``, so a renamed baseline (``kind: baseline``)
    is one too. A baseline-kind variant is compared with the other baseline-kind variants,
    never with itself.
    """
    cells: dict[tuple, list[LeaderboardRow]] = defaultdict(list)
    for row in rows:
        if row.status == "done" and row.attack is not None:
            cells[(row.task, row.dataset, row.model, row.attack, row.seed)].append(row)

    pairs: dict[tuple, list[tuple[LeaderboardRow, LeaderboardRow]]] = defaultdict(list)
    for members in cells.values():
        for reference in members:
            if reference.variant_kind != BASELINE_KIND:
                continue
            for candidate in members:
                if candidate.variant == reference.variant:
                    continue
                key = (candidate.task, candidate.dataset, candidate.model, candidate.variant,
                       reference.variant, candidate.attack)
                pairs[key].append((reference, candidate))

    return [_compare(key, sorted(found, key=lambda pair: (pair[1].seed, pair[1].unit_key)), samples)
            for key, found in sorted(pairs.items())]


def _compare_seed(reference: LeaderboardRow, candidate: LeaderboardRow,
                  samples: dict[str, UnitSample]) -> SeedComparison:
    extra = None
    if finite_or_none(candidate.train_seconds) is not None and finite_or_none(reference.train_seconds) is not None:
        extra = candidate.train_seconds - reference.train_seconds
    first, second = samples.get(reference.unit_key), samples.get(candidate.unit_key)
    note = None
    difference = None
    if first is None or second is None or len(first) == 0 or len(second) == 0:
        note = "no stored attacked examples for one of the two units"
    elif not first.same_examples(second):
        note = _mismatch(first, second)
    else:
        difference = cached_paired_interval(tuple(first.robust_correct), tuple(second.robust_correct))
    return SeedComparison(
        seed=candidate.seed, unit_key=candidate.unit_key, reference_unit_key=reference.unit_key,
        examples=0 if second is None else len(second), difference=difference, note=note,
        extra_train_seconds=extra, gain=Gain.of(None if difference is None else difference.estimate, extra),
    )


def _mismatch(first: UnitSample, second: UnitSample) -> str:
    shared = set(first.indices) & set(second.indices)
    texts_first = dict(zip(first.indices, first.texts))
    texts_second = dict(zip(second.indices, second.texts))
    other_text = sum(1 for index in shared if texts_first[index] != texts_second[index])
    return (f"the attacked examples differ: {len(first)} and {len(second)} examples, "
            f"{len(shared)} shared indices, {other_text} of them with other texts")


def _compare(key: tuple, pairs: list[tuple[LeaderboardRow, LeaderboardRow]],
             samples: dict[str, UnitSample]) -> Comparison:
    task, dataset, model, variant, reference_variant, attack = key
    seeds = tuple(_compare_seed(reference, candidate, samples) for reference, candidate in pairs)
    paired = [(pair, seed) for pair, seed in zip(pairs, seeds) if seed.difference is not None]

    over_examples = over_seeds = None
    robust = reference_robust = difference = None
    note = None
    if not paired:
        note = "no seed has the same attacked texts in both units"
    else:
        reference_samples = [samples[reference.unit_key] for (reference, _), _ in paired]
        candidate_samples = [samples[candidate.unit_key] for (_, candidate), _ in paired]
        reference_means = np.array([sample.robust_correct.mean() for sample in reference_samples])
        candidate_means = np.array([sample.robust_correct.mean() for sample in candidate_samples])
        robust = float(candidate_means.mean())
        reference_robust = float(reference_means.mean())
        difference = float((candidate_means - reference_means).mean())
        if all(sample.same_examples(reference_samples[0]) for sample in reference_samples[1:]):
            # Each example's outcome averaged over the seeds, then paired across the two variants.
            over_examples = cached_paired_interval(
                tuple(np.mean([sample.robust_correct for sample in reference_samples], axis=0)),
                tuple(np.mean([sample.robust_correct for sample in candidate_samples], axis=0)),
            )
        else:
            note = "the seeds attacked different texts: no interval over examples"
        if len(paired) >= 2:
            over_seeds = cached_paired_interval(tuple(reference_means), tuple(candidate_means))

    extras = [seed.extra_train_seconds for _, seed in paired if seed.extra_train_seconds is not None]
    extra = float(np.mean(extras)) if paired and len(extras) == len(paired) else None
    first_candidate = pairs[0][1]
    return Comparison(
        task=task, dataset=dataset, dataset_generated=first_candidate.dataset_generated, model=model,
        variant=variant, variant_kind=first_candidate.variant_kind, reference_variant=reference_variant,
        attack=attack, seeds=seeds, robust_accuracy=robust, reference_robust_accuracy=reference_robust,
        difference=difference, over_examples=over_examples, over_seeds=over_seeds, note=note,
        extra_train_seconds=extra, gain=Gain.of(difference, extra),
    )
