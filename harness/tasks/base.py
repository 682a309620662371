"""Data types shared by tasks, training and attacks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class LabeledTexts:
    """Texts with integer labels that index ``label_names``."""

    texts: tuple[str, ...]
    labels: tuple[int, ...]
    label_names: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.labels):
            raise ValueError(f"{len(self.texts)} texts but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices: list[int]) -> "LabeledTexts":
        return LabeledTexts(
            tuple(self.texts[i] for i in indices),
            tuple(self.labels[i] for i in indices),
            self.label_names,
        )


@dataclass(frozen=True)
class Splits:
    """The train, dev and test parts of one data set."""

    train: LabeledTexts
    dev: LabeledTexts
    test: LabeledTexts


@dataclass(frozen=True)
class DatasetInfo:
    """Origin of a data set: its name, and whether rsbench generated it (shown wherever results are)."""

    name: str
    generated: bool


@dataclass(frozen=True)
class Evaluation:
    """Scores of a model on one split: metric name → value, and the examples per second of the pass.

    Values are fractions in [0, 1]. Every task's metrics include its ``headline`` metric.
    """

    metrics: dict[str, float]
    examples_per_second: float


@dataclass(frozen=True)
class AttackRun:
    """Result of a task's attack: per-example records, their summary and the task metrics under attack.

    ``robust_metrics`` are the task's metrics (the names of ``Task.evaluate``) computed on
    the model's outputs for the attacked inputs, taking the original input where the
    example was skipped. ``attacked_clean_metrics`` are the same metrics on the original
    inputs of the attacked sample.
    """

    records: list[Any]  # harness.attacks.runner.ExampleRecord
    summary: Any  # harness.attacks.runner.AttackSummary
    robust_metrics: dict[str, float]
    attacked_clean_metrics: dict[str, float]


@dataclass(frozen=True)
class ExampleDescription:
    """Text shown in the report for one attacked example: its gold answer and the model's outputs before and after the attack."""

    label: str
    original_prediction: str
    perturbed_prediction: str


class Task(Protocol):
    """Interface of a task type, used by the executor, the variants and the report.

    Registered in ``harness.catalog.TASKS`` with metadata ``variants`` (supported variant
    kinds), ``attacks`` (supported attack names), ``headline`` and ``headline_label`` (the
    metric shown first on the leaderboard, as named in ``Evaluation.metrics``).
    """

    name: str
    headline: str
    model_head: str  # a key of harness.models.HEADS
    head: Any  # harness.training.heads.TaskHead

    def load_splits(self, spec: Any, *, where: str = "data") -> tuple[Splits, DatasetInfo]:
        """Read the data of ``spec`` and split it; errors name ``where`` (the suite field) or the file and line."""
        ...

    def label_names(self, splits: Splits) -> tuple[str, ...]:
        """Names of the model's output classes (empty for span extraction)."""
        ...

    def evaluate(self, model: Any, tokenizer: Any, data: Any, *, batch_size: int, max_length: int, device: Any,
                 progress: bool = True, precision: str = "fp32") -> Evaluation:
        """Score ``model`` on ``data`` (a split of this task)."""
        ...

    def attack(self, model: Any, tokenizer: Any, attack_name: str, examples: Any, *, budget: Any, max_length: int,
               device: Any, progress: bool = True) -> AttackRun:
        """Attack every example of ``examples`` with ``attack_name`` under ``budget`` (an ``AttackBudget``)."""
        ...

    def describe_example(self, details: dict[str, Any], label_names: tuple[str, ...]) -> ExampleDescription:
        """Render an example record's ``details`` for the report."""
        ...
