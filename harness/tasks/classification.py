"""Single-label text classification."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict

from harness.data import sources
from harness.errors import DataError
from harness.suite import DataSpec, FileData, HubData, PackagedData
from harness.tasks.base import AttackRun, DatasetInfo, Evaluation, ExampleDescription, LabeledTexts, Splits

logger = logging.getLogger(__name__)


class ClassificationSettings(BaseModel):
    """Classification has no task-specific settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ClassificationTask:
    """Reads labelled texts, builds a sequence classifier, scores accuracy and macro-F1."""

    name = "classification"
    metric_names = ("accuracy", "macro_f1")
    headline = "accuracy"
    model_head = "sequence-classification"
    Settings = ClassificationSettings

    def __init__(self, settings: ClassificationSettings | None = None):
        self.settings = settings or ClassificationSettings()

    @property
    def head(self) -> Any:
        # Imported here because it imports torch, which suite validation does not need.
        from harness.training.heads import CLASSIFICATION

        return CLASSIFICATION

    def label_names(self, splits: Splits) -> tuple[str, ...]:
        return splits.train.label_names

    def evaluate(self, model: Any, tokenizer: Any, data: LabeledTexts, *, batch_size: int, max_length: int, device: Any,
                 progress: bool = True, precision: str = "fp32") -> Evaluation:
        from harness.training.loop import predict

        predictions, rate = predict(model, tokenizer, data.texts, batch_size=batch_size, max_length=max_length,
                                    device=device, progress=progress, precision=precision)
        return Evaluation(self.metrics(data.labels, predictions.tolist()), rate)

    def attack(self, model: Any, tokenizer: Any, attack_name: str, examples: LabeledTexts, *, budget: Any,
               max_length: int, device: Any, progress: bool = True) -> AttackRun:
        """Attack with a TextAttack recipe; the metrics under attack score the perturbed predictions."""
        from harness.attacks.runner import run_attack

        records, summary = run_attack(model, tokenizer, attack_name, examples, query_budget=budget.query_budget,
                                      batch_size=budget.batch_size, max_length=max_length, device=device,
                                      progress=progress, precision=budget.precision)
        labels = [record.label for record in records]
        return AttackRun(
            records=records, summary=summary,
            robust_metrics=self.metrics(labels, [record.perturbed_prediction for record in records]),
            attacked_clean_metrics=self.metrics(labels, [record.original_prediction for record in records]),
        )

    def describe_example(self, details: dict[str, Any], label_names: tuple[str, ...]) -> ExampleDescription:
        raise ValueError("classification examples carry no details; the report names their classes directly")

    def load_splits(self, spec: DataSpec, *, where: str = "data") -> tuple[Splits, DatasetInfo]:
        raw = _read(spec)
        label_names = label_set(raw, spec, where)
        dev, test = raw.dev, raw.test
        train = raw.train
        if test is None:
            train, test = _split(train, spec.test_fraction, spec.split_seed, raw.origin)
        if dev is None:
            train, dev = _split(train, spec.dev_fraction, spec.split_seed + 1, raw.origin)
        train = _cap(train, spec.train_size, spec.split_seed)
        dev = _cap(dev, spec.dev_size, spec.split_seed)
        test = _cap(test, spec.test_size, spec.split_seed)
        splits = Splits(*(_to_texts(frame, label_names) for frame in (train, dev, test)))
        if len(set(splits.train.labels)) < 2:
            raise DataError(f"{where}: the training split has a single label ({label_names[splits.train.labels[0]]!r}). Give at least two classes.")
        logger.info("data %s: %d train, %d dev, %d test, labels %s", raw.origin, len(splits.train), len(splits.dev), len(splits.test), label_names)
        return splits, DatasetInfo(_dataset_name(spec), generated=False)

    def metrics(self, labels: Sequence[int], predictions: Sequence[int]) -> dict[str, float]:
        """Accuracy and macro-F1 over all labels, computed with scikit-learn."""
        from sklearn.metrics import accuracy_score, f1_score

        return {
            "accuracy": float(accuracy_score(labels, predictions)),
            "macro_f1": float(f1_score(labels, predictions, average="macro", zero_division=0)),
        }


def _dataset_name(spec: DataSpec) -> str:
    if isinstance(spec, PackagedData):
        return spec.name
    if isinstance(spec, FileData):
        return spec.path.name
    return spec.name


def _read(spec: DataSpec) -> sources.RawSplits:
    if isinstance(spec, PackagedData):
        return sources.read_packaged(spec.name)
    if isinstance(spec, FileData):
        return sources.read_file(spec.path, spec.format, spec.text_column, spec.label_column)
    assert isinstance(spec, HubData)
    return sources.read_hub(spec.name, spec.config, spec.revision, spec.text_column, spec.label_column,
                            spec.train_split, spec.dev_split, spec.test_split)


def label_set(raw: sources.RawSplits, spec: DataSpec, where: str, task_label: str = "Classification") -> tuple[str, ...]:
    """Return ``spec.labels`` when given (every label in the data must be one), else the sorted labels seen.

    Raises:
        DataError: a label outside ``spec.labels``, or fewer than two labels in the data.
    """
    frames = [frame for frame in (raw.train, raw.dev, raw.test) if frame is not None]
    seen = sorted(set().union(*(set(frame["label"]) for frame in frames)))
    if spec.labels is not None:
        unknown = [label for label in seen if label not in spec.labels]
        if unknown:
            raise DataError(f"{raw.origin}: label(s) {', '.join(map(repr, unknown[:5]))} not in the label set {spec.labels} of {where}.labels. Fix the data or add the labels.")
        return tuple(spec.labels)
    if len(seen) < 2:
        raise DataError(f"{raw.origin}: only one label ({seen[0]!r}) in the data. {task_label} needs at least two classes.")
    return tuple(seen)


def _split(frame: pd.DataFrame, fraction: float, seed: int, origin: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeded split, stratified by label when every label has at least two examples."""
    from sklearn.model_selection import train_test_split

    counts = frame["label"].value_counts()
    stratify = frame["label"] if counts.min() >= 2 and int(len(frame) * fraction) >= len(counts) else None
    try:
        kept, held_out = train_test_split(frame, test_size=fraction, random_state=seed, stratify=stratify)
    except ValueError as exc:
        raise DataError(
            f"{origin}: cannot hold out {fraction:.0%} of {len(frame)} examples ({exc}). "
            "Add examples or change test_fraction/dev_fraction."
        ) from None
    if len(kept) < 2 or held_out.empty:
        raise DataError(
            f"{origin}: holding out {fraction:.0%} of {len(frame)} examples leaves {len(kept)} to train on and {len(held_out)} held out. "
            "Add examples or change test_fraction/dev_fraction."
        )
    return kept.reset_index(drop=True), held_out.reset_index(drop=True)


def _cap(frame: pd.DataFrame, size: int | None, seed: int) -> pd.DataFrame:
    if size is None or len(frame) <= size:
        return frame
    return frame.sample(n=size, random_state=seed).reset_index(drop=True)


def _to_texts(frame: pd.DataFrame, label_names: tuple[str, ...]) -> LabeledTexts:
    index = {name: position for position, name in enumerate(label_names)}
    return LabeledTexts(tuple(frame["text"]), tuple(index[label] for label in frame["label"]), label_names)
