"""Gated metrics, their direction, and the tolerances allowed for their drop.

A tolerance is absolute (``0.02``: the metric may get worse by 0.02) or relative (``5%``:
it may get worse by 5% of its baseline value). Tolerances come from the suite's ``gate:``
section and from ``--tolerance METRIC=VALUE`` options; the options override the suite.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from harness.registry import describe_unknown

# Pairing of a metric's per-example values between two runs:
#   "attacked": every attacked example, with the same index and text in both runs.
#   "attacked-not-skipped": the attacked examples that neither run skipped. The attack
#       success rate counts only examples that the model classified correctly.
#   None: no per-example data is stored, so the tolerance alone decides.
Pairing = Literal["attacked", "attacked-not-skipped"] | None


@dataclass(frozen=True)
class GatedMetric:
    """A metric that the gate checks: its direction, its per-example pairing and a description."""

    name: str
    higher_is_better: bool
    pairing: Pairing
    description: str


GATED_METRICS: dict[str, GatedMetric] = {
    metric.name: metric
    for metric in (
        GatedMetric("clean_accuracy", True, None, "accuracy on the whole test split"),
        GatedMetric("clean_macro_f1", True, None, "macro-F1 on the whole test split"),
        GatedMetric("robust_accuracy", True, "attacked", "share of attacked examples still classified correctly"),
        GatedMetric("attack_success_rate", False, "attacked-not-skipped", "successful attacks / attacked examples not skipped"),
    )
}

_NUMBER = r"[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9]+(?:[eE][-+]?[0-9]+)?"
_TOLERANCE = re.compile(rf"^\s*(?P<number>-?(?:{_NUMBER}))\s*(?P<percent>%?)\s*$")


@dataclass(frozen=True)
class Tolerance:
    """The largest drop of a metric that is not a regression: absolute, or a fraction of the baseline value."""

    value: float
    relative: bool

    def allowed_drop(self, baseline: float) -> float:
        """Return the allowed drop, in metric units, for a metric whose baseline value is ``baseline``."""
        return self.value * abs(baseline) if self.relative else self.value

    def __str__(self) -> str:
        if self.relative:
            return f"{self.value * 100:g}%"
        return f"{self.value:g}"


# Every gated metric is a fraction in [0, 1], so the default allows a drop of one example in 50.
DEFAULT_TOLERANCE = Tolerance(0.02, relative=False)


def parse_tolerance(text: str | float | int) -> Tolerance:
    """Parse ``0.02`` (absolute) or ``"5%"`` (relative to the baseline value).

    Raises:
        ValueError: the value is negative, not finite, not a number, or an absolute value above 1.
    """
    if isinstance(text, bool):
        raise ValueError(f"invalid tolerance {text!r}: write a number such as 0.02 or a percentage such as 5%")
    if isinstance(text, (int, float)):
        value, relative = float(text), False
    else:
        match = _TOLERANCE.match(str(text))
        if match is None:
            raise ValueError(f"invalid tolerance {text!r}: write a number such as 0.02 or a percentage such as 5%")
        value, relative = float(match["number"]), bool(match["percent"])
        if relative:
            value /= 100.0
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"invalid tolerance {text!r}: it must be a finite number of at least 0")
    if not relative and value > 1:
        raise ValueError(
            f"invalid tolerance {text!r}: the gated metrics are fractions in [0, 1], so an absolute tolerance "
            f"above 1 allows any drop. Write {value / 100:g} for a drop of {value:g} points, or {value:g}% for a drop "
            "relative to the baseline value"
        )
    return Tolerance(value, relative)


def check_metric_name(name: str) -> str:
    """Return ``name`` when it is a gated metric.

    Raises:
        ValueError: naming the closest gated metric and all of them.
    """
    if name not in GATED_METRICS:
        raise ValueError(describe_unknown("gated metric", name, list(GATED_METRICS)))
    return name


def parse_tolerance_option(option: str) -> tuple[str, Tolerance]:
    """Parse a ``METRIC=VALUE`` option such as ``robust_accuracy=0.02`` or ``attack_success_rate=10%``.

    Raises:
        ValueError: the option has no ``=``, names an unknown metric, or has an invalid value.
    """
    metric, separator, value = option.partition("=")
    if not separator:
        raise ValueError(f"invalid value {option!r}: write METRIC=VALUE, such as robust_accuracy=0.02 or robust_accuracy=5%")
    metric = check_metric_name(metric.strip())
    return metric, parse_tolerance(value)
