"""Navigation of the leaderboard page: filter choices, full example tables, interval and difference formats."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from harness.report.diff import diff_words
from harness.report.rows import ExampleView, LeaderboardRow
from harness.report.views import ExampleDisplay, finite_or_none
from harness.stats import Interval

_EMPTY_CELL = "–"
# The row attributes that filter.js matches, with the label of each select box.
FILTER_FIELDS = (("task", "Task"), ("model", "Model"), ("variant", "Variant"), ("attack", "Attack"))


@dataclass(frozen=True)
class FilterChoice:
    """One select box: the ``data-`` attribute it matches and the distinct values to choose from."""

    field: str
    label: str
    values: list[str]


def filter_options(rows: Sequence[LeaderboardRow]) -> list[FilterChoice]:
    """Return one choice per filterable field, its values sorted; train-only rows add no attack value."""
    choices = []
    for field, label in FILTER_FIELDS:
        values = sorted({getattr(row, field) for row in rows if getattr(row, field) is not None})
        choices.append(FilterChoice(field, label, values))
    return choices


def format_interval(interval: Interval | None, signed: bool = False) -> str:
    """Format an interval's bounds in percent (percentage points when ``signed``), as "[low, high]"."""
    if interval is None:
        return _EMPTY_CELL
    template = "{:+.1f}" if signed else "{:.1f}"
    low = template.format(interval.low * 100).replace("-", "−")
    high = template.format(interval.high * 100).replace("-", "−")
    return f"[{low}, {high}]"


def format_points(value: float | None) -> str:
    """Format a difference of fractions as signed percentage points, such as "+4.0 pp"."""
    value = finite_or_none(value)
    if value is None:
        return _EMPTY_CELL
    return f"{value * 100:+.1f} pp".replace("-", "−")


def build_example_tables(rows: Sequence[LeaderboardRow], examples: Sequence[ExampleView]) -> dict[str, list[ExampleDisplay]]:
    """Return every stored example of each attack row, by unit key and ordered by index, with its word diff."""
    attacked = {row.unit_key for row in rows if row.attack is not None}
    tables: dict[str, list[ExampleDisplay]] = defaultdict(list)
    for example in sorted(examples, key=lambda example: (example.unit_key, example.index)):
        if example.unit_key in attacked:
            tables[example.unit_key].append(
                ExampleDisplay(example, *diff_words(example.original_text, example.perturbed_text)))
    return dict(tables)
