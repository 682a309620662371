"""Intervals, seed aggregates and baseline comparisons of a leaderboard, computed from its rows and examples."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.report.comparison import Comparison, build_comparisons
from harness.report.rows import ExampleView, LeaderboardRow
from harness.report.uncertainty import Aggregate, UnitIntervals, build_aggregates, build_unit_intervals, samples_by_unit
from harness.stats import CONFIDENCE, RESAMPLES

METHODS = {
    "unit_intervals": (
        f"{CONFIDENCE:.0%} bootstrap interval (scipy.stats.bootstrap, BCa, {RESAMPLES} resamples, seed 0; "
        "percentile when BCa is undefined) of the mean of 0/1 outcomes over the unit's attacked examples: "
        "robust accuracy counts examples still classified correctly after the attack, clean accuracy on the "
        "attacked sample counts examples classified correctly before it; skipped examples count as wrong."
    ),
    "aggregates": (
        "Mean over the finished seeds of each (task, dataset, model, variant, attack). over_seeds: bootstrap "
        "interval of the per-seed values (two or more seeds). over_examples: bootstrap interval over the attacked "
        "examples, each scored by its outcome averaged over the seeds; it covers the sampling of test examples "
        "but not the variation between training seeds."
    ),
    "comparisons": (
        "Robust accuracy of a variant minus that of the variant of kind 'baseline' for the same task, dataset, "
        "model, attack and seed. Per seed: paired bootstrap over the attacked examples, which must be the same "
        "texts at the same indices. Over seeds: the mean of the per-seed differences; over_examples pairs the "
        "seed-averaged outcome of each example, over_seeds pairs the per-seed robust accuracies (two or more "
        "seeds). excludes_zero is true when every available interval excludes zero on the same side."
    ),
    "gain_per_extra_training_minute": (
        "Robust accuracy difference to the baseline divided by the extra training time in minutes (the variant's "
        "training time minus the baseline's, averaged over the paired seeds). Undefined (null) when the variant "
        "trained no longer than the baseline or a time is missing. A kd variant's time excludes its teacher."
    ),
}


@dataclass(frozen=True)
class Analysis:
    """Everything the leaderboard shows beyond the stored per-unit metrics."""

    unit_intervals: dict[str, UnitIntervals]
    aggregates: list[Aggregate]
    comparisons: list[Comparison]

    @property
    def several_seeds(self) -> bool:
        return any(len(aggregate.units) > 1 for aggregate in self.aggregates)

    def to_json(self) -> dict:
        """Return the analysis as the JSON-ready sections that ``leaderboard.json`` adds to its units."""
        return {
            "methods": dict(METHODS),
            "unit_intervals": [self.unit_intervals[key].to_dict() for key in sorted(self.unit_intervals)],
            "aggregates": [aggregate.to_dict() for aggregate in self.aggregates],
            "comparisons": [comparison.to_dict() for comparison in self.comparisons],
        }


def analyse(rows: Sequence[LeaderboardRow], examples: Sequence[ExampleView]) -> Analysis:
    samples = samples_by_unit(examples)
    return Analysis(
        unit_intervals=build_unit_intervals(rows, samples),
        aggregates=build_aggregates(rows, samples),
        comparisons=build_comparisons(rows, samples),
    )
