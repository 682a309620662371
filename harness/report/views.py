"""View models of the leaderboard page: sorted units, the per-attack pivot, sample sections."""

from __future__ import annotations

import hashlib
import logging
import math
import re
import statistics
import unicodedata
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from harness.report.diff import Segment, diff_words
from harness.report.rows import ExampleView, LeaderboardRow

logger = logging.getLogger(__name__)

_SAFE_ANCHOR = re.compile(r"[A-Za-z0-9_-]{1,64}")
# C0 and C1 control characters other than tab, line feed and carriage return. HTML treats
# them as parse errors, and browsers drop or show them inconsistently.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def unit_sort_key(row: LeaderboardRow) -> tuple:
    """Order rows by task, dataset, model, variant, attack (train-only rows first), seed, key."""
    return (row.task, row.dataset, row.model, row.variant, row.attack is not None,
            row.attack or "", row.seed, row.unit_key)


def unit_anchor(unit_key: str) -> str:
    """Return the HTML id of a unit's sample section: the key itself when it is a plain token."""
    if _SAFE_ANCHOR.fullmatch(unit_key):
        return f"unit-{unit_key}"
    return "unit-" + hashlib.sha256(unit_key.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def visible_text(value: str) -> str:
    """Make characters that a browser would not show visible in the page.

    Control characters become U+FFFD. Format characters (Unicode category Cf: bidirectional
    controls such as U+202E, zero-width spaces and joiners, the invisible characters that
    Bad Characters attacks insert) become a visible code such as ``<U+202E>``, so a
    perturbation made of them is seen and cannot reorder the text around it.
    """
    replaced = _CONTROL_CHARACTERS.sub("\N{REPLACEMENT CHARACTER}", value)
    if not any(unicodedata.category(character) == "Cf" for character in replaced):
        return replaced
    return "".join(
        f"<U+{ord(character):04X}>" if unicodedata.category(character) == "Cf" else character for character in replaced
    )


def finite_or_none(value: float | int | None) -> float | int | None:
    """Return None for NaN and infinities, which neither JSON nor a sorted column can hold."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class UnitEntry:
    """A leaderboard row and the id of its sample section; None for train-only rows."""

    row: LeaderboardRow
    anchor: str | None


def build_unit_entries(rows: Sequence[LeaderboardRow]) -> list[UnitEntry]:
    """Pair each row, in the given order, with the anchor that its attack cell links to."""
    return [
        UnitEntry(row, unit_anchor(row.unit_key) if row.attack is not None else None)
        for row in rows
    ]


@dataclass(frozen=True)
class Stat:
    """Mean of a metric over seeds, with the sample standard deviation when there are two or more."""

    mean: float
    stdev: float | None
    count: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Stat | None:
        if not values:
            return None
        stdev = statistics.stdev(values) if len(values) > 1 else None
        return cls(statistics.fmean(values), stdev, len(values))


@dataclass(frozen=True)
class PivotRow:
    task: str
    dataset: str
    dataset_generated: bool
    model: str
    variant: str
    clean: Stat | None
    robust: dict[str, Stat | None]


@dataclass(frozen=True)
class PivotTable:
    """Robust accuracy of each (task, dataset, model, variant) under each attack, over seeds."""

    attacks: list[str]
    rows: list[PivotRow]


def build_pivot(rows: Sequence[LeaderboardRow]) -> PivotTable:
    """Average clean accuracy per trained model and robust accuracy per attack over seeds.

    Clean accuracy is counted once per ``train_key``, because every attack row of a trained
    model repeats it. Failed units and missing values do not count.
    """
    attacks = sorted({row.attack for row in rows if row.attack is not None})
    clean: dict[tuple, dict[str, float]] = defaultdict(dict)
    robust: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    generated: dict[tuple, bool] = {}
    for row in rows:
        key = (row.task, row.dataset, row.model, row.variant)
        generated[key] = generated.get(key, False) or row.dataset_generated
        if row.status != "done":
            continue
        clean_accuracy = finite_or_none(row.clean_accuracy)
        if clean_accuracy is not None:
            clean[key][row.train_key] = clean_accuracy
        robust_accuracy = finite_or_none(row.robust_accuracy)
        if row.attack is not None and robust_accuracy is not None:
            robust[key][row.attack].append(robust_accuracy)

    pivot_rows = [
        PivotRow(
            task=key[0], dataset=key[1], dataset_generated=generated[key], model=key[2],
            variant=key[3], clean=Stat.of(list(clean[key].values())),
            robust={attack: Stat.of(robust[key][attack]) for attack in attacks},
        )
        for key in sorted(generated)
    ]
    return PivotTable(attacks, pivot_rows)


@dataclass(frozen=True)
class ExampleDisplay:
    example: ExampleView
    original: list[Segment]
    perturbed: list[Segment]


@dataclass(frozen=True)
class SampleSection:
    """The examples shown for one attacked unit, and how many of its examples were stored."""

    anchor: str
    row: LeaderboardRow
    examples: list[ExampleDisplay]
    stored: int


def build_sample_sections(
    rows: Sequence[LeaderboardRow], examples: Sequence[ExampleView], samples_per_unit: int
) -> list[SampleSection]:
    """Pick up to ``samples_per_unit`` examples per attacked unit, successful attacks first.

    Within each outcome group examples keep the order of their index. Examples of units
    that are not among ``rows`` are left out with a warning.
    """
    by_unit: dict[str, list[ExampleView]] = defaultdict(list)
    for example in examples:
        by_unit[example.unit_key].append(example)
    known = {row.unit_key for row in rows}
    orphans = sum(len(found) for key, found in by_unit.items() if key not in known)
    if orphans:
        logger.warning("Left out %d example(s) whose unit is not among the report rows", orphans)

    sections = []
    for row in rows:
        if row.attack is None:
            continue
        stored = sorted(by_unit.get(row.unit_key, []), key=lambda example: example.index)
        succeeded = [example for example in stored if example.outcome == "succeeded"]
        others = [example for example in stored if example.outcome != "succeeded"]
        chosen = (succeeded + others)[:samples_per_unit]
        displays = [
            ExampleDisplay(example, *diff_words(example.original_text, example.perturbed_text))
            for example in chosen
        ]
        sections.append(SampleSection(unit_anchor(row.unit_key), row, displays, len(stored)))
    return sections


def manifest_items(manifest: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Return the manifest's entries sorted by key, as the template's definition list shows them."""
    return sorted(((str(key), value) for key, value in manifest.items()), key=lambda item: item[0])
