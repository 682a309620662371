"""Compare a run with a baseline, unit by unit and metric by metric.

Decision rule: a metric regressed when it got worse by more than its tolerance AND the
paired bootstrap interval of the per-example change (the same attacked examples in both
runs) excludes zero on the worse side. A metric without per-example data (clean accuracy
and macro-F1 on the whole test split) is judged on its tolerance alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness import stats
from harness.errors import RsbenchError
from harness.gate.document import Snapshot, SnapshotUnit
from harness.gate.tolerance import DEFAULT_TOLERANCE, GATED_METRICS, GatedMetric, Tolerance

# Floating-point slack when comparing a drop with its tolerance: 0.7 - 0.68 must not exceed 0.02.
_EPSILON = 1e-9

# Verdicts of one metric. REGRESSED and MISSING count as regressions.
REGRESSED = "regressed"
MISSING = "missing"
NOT_SIGNIFICANT = "not significant"
WITHIN_TOLERANCE = "within tolerance"
UNCHANGED = "unchanged"
IMPROVED = "improved"
NOT_MEASURED = "not measured"


@dataclass(frozen=True)
class GateSettings:
    """Tolerances per gated metric and the bootstrap settings of the paired intervals."""

    tolerances: dict[str, Tolerance] = field(default_factory=dict)
    confidence: float = stats.CONFIDENCE
    resamples: int = stats.RESAMPLES
    seed: int = 0

    def tolerance(self, metric: str) -> Tolerance:
        return self.tolerances.get(metric, DEFAULT_TOLERANCE)

    def method(self) -> str:
        """Describe the decision rule and the bootstrap settings in one sentence, for every output."""
        return (
            f"A metric regresses when it gets worse by more than its tolerance and the paired BCa bootstrap "
            f"interval ({self.confidence:.0%} confidence, {self.resamples} resamples, seed {self.seed}; percentile "
            "bootstrap where BCa is undefined) of the per-example change over the attacked examples excludes zero on the worse side. Metrics without "
            "per-example data (clean accuracy and macro-F1 on the whole test split) are judged on the tolerance alone."
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "tolerances": {name: str(self.tolerance(name)) for name in GATED_METRICS},
            "interval": "paired BCa bootstrap over the attacked examples",
            "confidence": self.confidence,
            "resamples": self.resamples,
            "seed": self.seed,
        }


@dataclass(frozen=True)
class MetricResult:
    """One gated metric of one unit: both values, the change, the tolerance, the interval and the verdict."""

    metric: str
    higher_is_better: bool
    baseline: float | None
    current: float | None
    tolerance: str
    allowed_drop: float | None
    interval: stats.Interval | None
    basis: str
    verdict: str

    @property
    def change(self) -> float | None:
        if self.baseline is None or self.current is None:
            return None
        return self.current - self.baseline

    @property
    def regressed(self) -> bool:
        return self.verdict in (REGRESSED, MISSING)

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric, "direction": "higher is better" if self.higher_is_better else "lower is better",
            "baseline": self.baseline, "current": self.current, "change": self.change, "tolerance": self.tolerance,
            "allowed_drop": self.allowed_drop, "interval": None if self.interval is None else self.interval.to_dict(),
            "basis": self.basis, "verdict": self.verdict, "regressed": self.regressed,
        }


@dataclass(frozen=True)
class UnitResult:
    """The comparison of one unit: identity, whether the unit keys match, problems and metric results."""

    label: str
    task: str
    dataset: str
    baseline_dataset: str
    model: str
    variant: str
    attack: str | None
    seed: int
    baseline_key: str
    current_key: str
    problems: tuple[str, ...]
    metrics: tuple[MetricResult, ...]

    @property
    def keys_match(self) -> bool:
        return self.baseline_key == self.current_key

    @property
    def regressed(self) -> bool:
        return bool(self.problems) or any(result.regressed for result in self.metrics)

    def to_dict(self) -> dict[str, Any]:
        return {
            "unit": self.label, "task": self.task, "dataset": self.dataset, "baseline_dataset": self.baseline_dataset,
            "model": self.model, "variant": self.variant,
            "attack": self.attack, "seed": self.seed, "baseline_unit_key": self.baseline_key,
            "current_unit_key": self.current_key, "unit_keys_match": self.keys_match, "regressed": self.regressed,
            "problems": list(self.problems), "metrics": [result.to_dict() for result in self.metrics],
        }


@dataclass(frozen=True)
class Comparison:
    """The whole comparison of a run with a baseline."""

    suite: str
    baseline_source: str
    current_source: str
    settings: GateSettings
    units: tuple[UnitResult, ...]

    @property
    def regressed_units(self) -> list[UnitResult]:
        return [unit for unit in self.units if unit.regressed]

    @property
    def passed(self) -> bool:
        return not self.regressed_units

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite, "baseline": self.baseline_source, "run": self.current_source,
            "passed": self.passed, "method": self.settings.method(), "settings": self.settings.to_dict(),
            "units": [unit.to_dict() for unit in self.units],
        }


def compare_snapshots(baseline: Snapshot, current: Snapshot, settings: GateSettings) -> Comparison:
    """Compare every unit of ``current`` with the unit of ``baseline`` of the same identity.

    Raises:
        RsbenchError: the units of the two snapshots do not match one to one, a baseline
            unit failed, or attacked examples do not pair (other indices or texts). The
            message lists every problem with its unit and the fix.
    """
    pairs = _match_units(baseline, current)
    problems: list[str] = []
    for base_unit, current_unit in pairs:
        problems += _check_pairing(baseline.source, base_unit, current_unit)
    if problems:
        raise RsbenchError(_problem_list(f"cannot compare {current.source} with {baseline.source}", problems))
    units = tuple(_compare_unit(base_unit, current_unit, settings) for base_unit, current_unit in pairs)
    return Comparison(suite=current.suite, baseline_source=baseline.source, current_source=current.source,
                      settings=settings, units=units)


def judge_metric(metric: GatedMetric, baseline: float | None, current: float | None, tolerance: Tolerance,
                 interval: stats.Interval | None, basis: str) -> MetricResult:
    """Apply the decision rule to one metric of one unit.

    ``interval`` is the paired interval of ``current - baseline`` per example, or None when
    the metric has no per-example data; then the tolerance alone decides.
    """
    if baseline is None and current is None:
        return MetricResult(metric.name, metric.higher_is_better, None, None, str(tolerance), None, None, basis, NOT_MEASURED)
    if baseline is None:
        return MetricResult(metric.name, metric.higher_is_better, None, current, str(tolerance), None, None,
                            "not measured in the baseline", NOT_MEASURED)
    allowed = tolerance.allowed_drop(baseline)
    if current is None:
        return MetricResult(metric.name, metric.higher_is_better, baseline, None, str(tolerance), allowed, None,
                            "not measured in this run", MISSING)
    drop = baseline - current if metric.higher_is_better else current - baseline
    if abs(drop) <= _EPSILON:
        verdict = UNCHANGED
    elif drop < 0:
        verdict = IMPROVED
    elif drop <= allowed + _EPSILON:
        verdict = WITHIN_TOLERANCE
    elif interval is None or _excludes_zero_on_worse_side(interval, metric.higher_is_better):
        verdict = REGRESSED
    else:
        verdict = NOT_SIGNIFICANT
    return MetricResult(metric.name, metric.higher_is_better, baseline, current, str(tolerance), allowed, interval, basis, verdict)


def _excludes_zero_on_worse_side(interval: stats.Interval, higher_is_better: bool) -> bool:
    # The interval is of current - baseline, so a worse higher-is-better metric lies below zero.
    return interval.high < 0.0 if higher_is_better else interval.low > 0.0


def _compare_unit(base_unit: SnapshotUnit, current_unit: SnapshotUnit, settings: GateSettings) -> UnitResult:
    problems = []
    if current_unit.status != "done":
        problems.append(f"the unit failed in this run: {current_unit.error or 'no error stored'}")
    results = []
    for metric in GATED_METRICS.values():
        tolerance = settings.tolerance(metric.name)
        interval, basis = _paired_interval(metric, base_unit, current_unit, settings)
        results.append(judge_metric(metric, _number(base_unit.metrics.get(metric.name)),
                                    _number(current_unit.metrics.get(metric.name)), tolerance, interval, basis))
    return UnitResult(
        label=current_unit.label, task=current_unit.task, dataset=current_unit.dataset,
        baseline_dataset=base_unit.dataset, model=current_unit.model,
        variant=current_unit.variant, attack=current_unit.attack, seed=current_unit.seed,
        baseline_key=base_unit.unit_key, current_key=current_unit.unit_key, problems=tuple(problems), metrics=tuple(results),
    )


def _paired_interval(metric: GatedMetric, base_unit: SnapshotUnit, current_unit: SnapshotUnit,
                     settings: GateSettings) -> tuple[stats.Interval | None, str]:
    """Return the paired interval of the metric's per-example change and a note on what it covers."""
    if metric.pairing is None:
        return None, "tolerance only: no per-example data (whole test split)"
    if base_unit.attack is None:
        return None, "no attack"
    if base_unit.example_outcomes is None or current_unit.example_outcomes is None or current_unit.status != "done":
        return None, "no paired examples"
    current_by_index = {outcome.index: outcome for outcome in current_unit.example_outcomes}
    reference: list[float] = []
    candidate: list[float] = []
    for base in base_unit.example_outcomes:
        now = current_by_index[base.index]
        if metric.pairing == "attacked":
            reference.append(base.robust_correct)
            candidate.append(now.robust_correct)
        elif base.outcome != "skipped" and now.outcome != "skipped":
            reference.append(float(base.outcome == "succeeded"))
            candidate.append(float(now.outcome == "succeeded"))
    if not reference:
        return None, "tolerance only: no example was attacked without being skipped in both runs"
    interval = stats.paired_difference_interval(reference, candidate, confidence=settings.confidence,
                                                resamples=settings.resamples, seed=settings.seed)
    if metric.pairing == "attacked":
        return interval, f"{interval.method} over {interval.samples} attacked examples"
    return interval, f"{interval.method} over {interval.samples} examples attacked and not skipped in both runs"


def _match_units(baseline: Snapshot, current: Snapshot) -> list[tuple[SnapshotUnit, SnapshotUnit]]:
    problems = []
    base_units = _by_identity(baseline, problems)
    current_units = _by_identity(current, problems)
    for identity, unit in base_units.items():
        if identity not in current_units:
            problems.append(
                f"unit {unit.label} is in the baseline but not in the run. Run the suite the baseline was written from, "
                "or write a new baseline with `rsbench baseline RUN_DIR -o FILE`."
            )
    for identity, unit in current_units.items():
        if identity not in base_units:
            problems.append(
                f"unit {unit.label} is in the run but not in the baseline. Write a new baseline that includes it "
                "with `rsbench baseline RUN_DIR -o FILE`, or remove it from the suite."
            )
    for identity, unit in base_units.items():
        if unit.status != "done":
            problems.append(
                f"unit {unit.label} failed in the baseline ({unit.error or 'no error stored'}), so there is nothing to compare "
                "with. Write the baseline from a run whose units all succeeded."
            )
    if problems:
        raise RsbenchError(_problem_list(f"cannot compare {current.source} with {baseline.source}", problems))
    return [(base_units[identity], current_units[identity]) for identity in current_units]


def _by_identity(snapshot: Snapshot, problems: list[str]) -> dict[tuple, SnapshotUnit]:
    units: dict[tuple, SnapshotUnit] = {}
    for unit in snapshot.units:
        if unit.identity in units:
            problems.append(
                f"{snapshot.source}: unit {unit.label} appears more than once (unit keys {units[unit.identity].unit_key} "
                f"and {unit.unit_key}). Keep one unit per task, model, variant, attack and seed."
            )
        units[unit.identity] = unit
    return units


def _check_pairing(baseline_source: str, base_unit: SnapshotUnit, current_unit: SnapshotUnit) -> list[str]:
    """List the reasons why the attacked examples of the two units do not pair."""
    if base_unit.attack is None or current_unit.status != "done":
        return []
    fix = ("Both runs must attack the same test examples: keep the task's data, split settings and attack.examples "
           "and attack.seed of the baseline run, or write a new baseline.")
    if base_unit.example_outcomes is None:
        return [f"unit {base_unit.label}: {baseline_source} has no example outcomes for it. Write the baseline with `rsbench baseline`."]
    if current_unit.example_outcomes is None:
        return [f"unit {current_unit.label}: the run has no example outcomes for it. Run the suite again."]
    base_indices = [outcome.index for outcome in base_unit.example_outcomes]
    current_indices = [outcome.index for outcome in current_unit.example_outcomes]
    if len(set(base_indices)) != len(base_indices) or len(set(current_indices)) != len(current_indices):
        return [f"unit {base_unit.label}: an example index appears twice in its example outcomes. Write the baseline again."]
    if set(base_indices) != set(current_indices):
        return [f"unit {base_unit.label}: the baseline attacked {len(base_indices)} examples and the run {len(current_indices)} "
                f"(indices {_sample(set(base_indices) ^ set(current_indices))} are in only one of them). {fix}"]
    current_hashes = {outcome.index: outcome.text_sha256 for outcome in current_unit.example_outcomes}
    for outcome in base_unit.example_outcomes:
        if outcome.text_sha256 != current_hashes[outcome.index]:
            return [f"unit {base_unit.label}: attacked example {outcome.index} has text SHA-256 {outcome.text_sha256[:12]}... "
                    f"in the baseline and {current_hashes[outcome.index][:12]}... in the run, so the runs attacked other texts. {fix}"]
    return []


def _sample(indices: set[int]) -> str:
    ordered = sorted(indices)
    listed = ", ".join(str(index) for index in ordered[:5])
    return listed + (f" and {len(ordered) - 5} more" if len(ordered) > 5 else "")


def _problem_list(header: str, problems: list[str]) -> str:
    lines = [f"{header}: {len(problems)} problem(s):"] + [f"  - {problem}" for problem in problems]
    return "\n".join(lines)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)
