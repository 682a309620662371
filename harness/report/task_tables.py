"""Per-task metric tables of the leaderboard: each task's own scores, clean and under every attack.

Accuracy columns elsewhere on the page are the same for every task: robust accuracy is the
share of attacked examples whose attack failed. These tables show what each task measures
(entity F1, answer F1, macro-F1 without "Other"), averaged over seeds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from harness import catalog
from harness.report.rows import LeaderboardRow
from harness.report.views import Stat, finite_or_none

CLEAN = "clean."
ROBUST = "robust."
ATTACKED_CLEAN = "attacked_clean."


@dataclass(frozen=True)
class TaskMetricRow:
    """One trained model of a task: clean metrics over seeds, and each metric under each attack."""

    model: str
    variant: str
    dataset: str
    dataset_generated: bool
    clean: dict[str, Stat | None]
    robust: dict[tuple[str, str], Stat | None]  # (attack, metric) -> Stat
    # The headline metric on the original inputs of the attacked sample, which the values under
    # attack are compared with. Every attack of a task uses the same sample, so it counts once per training unit.
    attacked_clean: Stat | None = None


@dataclass(frozen=True)
class TaskTable:
    """The metrics of one task; ``metrics`` starts with the headline metric."""

    task: str
    task_type: str | None
    headline: str | None
    headline_label: str
    metrics: list[str]
    attacks: list[str]
    rows: list[TaskMetricRow]


def _metric_order(names: set[str], headline: str | None) -> list[str]:
    """Headline first, then metrics without a dot (overall scores), then per-type scores such as ``f1.PER``."""
    rest = sorted(names - {headline}, key=lambda name: ("." in name, name))
    return ([headline] if headline in names else []) + rest


def build_task_tables(rows: Sequence[LeaderboardRow]) -> list[TaskTable]:
    """Build one table per task that stored task metrics; tasks without any (older stores) are left out.

    Clean values count once per training unit, because every attack row repeats them.
    Failed units and missing values do not count.
    """
    by_task: dict[str, list[LeaderboardRow]] = defaultdict(list)
    for row in rows:
        by_task[row.task].append(row)

    tables = []
    for task, task_rows in sorted(by_task.items()):
        names = {name.split(".", 1)[1] for row in task_rows for name in row.task_metrics if name.startswith((CLEAN, ROBUST))}
        if not names:
            continue
        headline = next((row.headline for row in task_rows if row.headline), None)
        task_type = next((row.task_type for row in task_rows if row.task_type), None)
        label = headline or ""
        if task_type is not None and task_type in catalog.TASKS:
            label = catalog.TASKS.entry(task_type).meta("headline_label", label)
        metrics = _metric_order(names, headline)
        attacks = sorted({row.attack for row in task_rows if row.attack is not None})
        tables.append(TaskTable(task, task_type, headline, label, metrics, attacks, _table_rows(task_rows, metrics, headline)))
    return tables


def _table_rows(rows: Sequence[LeaderboardRow], metrics: list[str], headline: str | None) -> list[TaskMetricRow]:
    clean: dict[tuple, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    attacked_clean: dict[tuple, dict[str, float]] = defaultdict(dict)
    robust: dict[tuple, dict[tuple[str, str], list[float]]] = defaultdict(lambda: defaultdict(list))
    datasets: dict[tuple, tuple[str, bool]] = {}
    for row in rows:
        key = (row.model, row.variant)
        datasets[key] = (row.dataset, datasets.get(key, (row.dataset, False))[1] or row.dataset_generated)
        if row.status != "done":
            continue
        value = finite_or_none(row.task_metrics.get(f"{ATTACKED_CLEAN}{headline}"))
        if row.attack is not None and value is not None:
            attacked_clean[key][row.train_key] = value
        for metric in metrics:
            value = finite_or_none(row.task_metrics.get(CLEAN + metric))
            if value is not None:
                clean[key][metric][row.train_key] = value
            value = finite_or_none(row.task_metrics.get(ROBUST + metric))
            if row.attack is not None and value is not None:
                robust[key][(row.attack, metric)].append(value)
    return [
        TaskMetricRow(
            model=key[0], variant=key[1], dataset=datasets[key][0], dataset_generated=datasets[key][1],
            clean={metric: Stat.of(list(clean[key][metric].values())) for metric in metrics},
            robust={pair: Stat.of(values) for pair, values in robust[key].items()},
            attacked_clean=Stat.of(list(attacked_clean[key].values())),
        )
        for key in sorted(datasets)
    ]
