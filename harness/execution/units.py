"""Run one training unit or one attack unit and write its result to the store."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness import catalog
from harness.execution.manifest import build_manifest, utc_now
from harness.execution.plan import AttackUnit, TrainUnit
from harness.perf import PeakMemory
from harness.store import Store, UnitIdentity
from harness.suite import Suite
from harness.tasks.base import Splits, Task

logger = logging.getLogger(__name__)


@dataclass
class RunContext:
    """State shared by the units of one run: the suite, output folder, store, device and loaded data."""

    suite: Suite
    out_dir: Path
    store: Store
    device: str
    progress: bool = True
    _splits: dict[str, tuple[Splits, object]] = field(default_factory=dict)
    _tasks: dict[str, Task] = field(default_factory=dict)

    def task(self, task_name: str) -> Task:
        """Return the task object of a suite task, built once with its settings."""
        if task_name not in self._tasks:
            task_class = catalog.TASKS.get(self.suite.tasks[task_name].type)
            self._tasks[task_name] = task_class(self.suite.task_settings(task_name))
        return self._tasks[task_name]

    def splits(self, task_name: str):
        """Load a task's data once per run; returns (Splits, DatasetInfo)."""
        if task_name not in self._splits:
            spec = self.suite.tasks[task_name].data
            self._splits[task_name] = self.task(task_name).load_splits(spec, where=f"tasks.{task_name}.data")
        return self._splits[task_name]

    def checkpoint_dir(self, train_key: str) -> Path:
        return self.out_dir / "checkpoints" / train_key

    def stored_checkpoint(self, train_key: str) -> Path | None:
        """Return the checkpoint folder of a stored training unit; the store keeps it relative to the output folder."""
        relative = self.store.checkpoint(train_key)
        return None if relative is None else self.out_dir / relative


def identity(context: RunContext, unit: TrainUnit | AttackUnit) -> UnitIdentity:
    splits, info = context.splits(unit.task)
    is_attack = isinstance(unit, AttackUnit)
    return UnitIdentity(
        key=unit.key, kind="attack" if is_attack else "train", task=unit.task, dataset=info.name,
        dataset_generated=info.generated, model=unit.model, variant=unit.variant,
        variant_kind=context.suite.variant_kind(unit.variant), attack=unit.attack if is_attack else None,
        seed=unit.seed, train_key=unit.train_key if is_attack else None, config=unit.config,
        label_names=context.task(unit.task).label_names(splits),
    )


def attacked_examples(test: Any, count: int, seed: int) -> Any:
    """Pick the test examples that every unit of a task attacks: a seeded sample, the same for all variants."""
    import numpy as np

    order = np.random.default_rng(seed).permutation(len(test))
    return test.subset(sorted(int(index) for index in order[: min(count, len(test))]))


def run_train_unit(context: RunContext, unit: TrainUnit) -> None:
    import torch

    from harness.models import load_checkpoint, load_classifier, save_checkpoint
    from harness.training.loop import train

    suite = context.suite
    started = time.perf_counter()
    task = context.task(unit.task)
    splits, _ = context.splits(unit.task)
    kind, params = suite.resolved_variants[unit.variant]
    training = suite.training_for(unit.task)
    model, tokenizer = load_classifier(suite.models[unit.model], task.label_names(splits), seed=unit.seed, head=task.model_head)
    if hasattr(task, "prepare_model"):
        model, tokenizer = task.prepare_model(model, tokenizer)
    device = torch.device(context.device)
    teacher = None
    if unit.teacher_key is not None:
        teacher_folder = context.stored_checkpoint(unit.teacher_key)
        if teacher_folder is None or not teacher_folder.is_dir():
            raise RuntimeError(f"teacher checkpoint {unit.teacher_key} is missing; rerun to retrain the teacher")
        teacher, _ = load_checkpoint(teacher_folder, head=task.model_head)
        teacher.to(device).eval()
    objective = catalog.VARIANTS.get(kind)(params, teacher=teacher, head=task.head)
    model.to(device)
    logger.info("training %s/%s/%s seed %d (unit %s)", unit.task, unit.model, unit.variant, unit.seed, unit.key)
    with PeakMemory() as memory:
        stats = train(model, tokenizer, splits.train, training, objective, seed=unit.seed, device=device, progress=context.progress)
        evaluation = task.evaluate(model, tokenizer, splits.test, batch_size=training.eval_batch_size,
                                   max_length=training.max_length, device=device, progress=context.progress,
                                   precision=training.precision)
    if not math.isfinite(stats.final_loss):
        raise FloatingPointError(
            f"training loss became {stats.final_loss} (diverged); lower the learning rate or the variant's loss weights"
        )
    clean = evaluation.metrics
    checkpoint = context.checkpoint_dir(unit.key)
    save_checkpoint(model, tokenizer, checkpoint)
    metrics = {
        # Accuracy and macro-F1 columns exist for the tasks that score them; the task metrics hold every task's scores.
        "clean_accuracy": clean.get("accuracy"), "clean_macro_f1": clean.get("macro_f1"),
        "train_examples": len(splits.train), "test_examples": len(splits.test),
        "train_seconds": stats.seconds, "train_examples_per_second": stats.examples_per_second,
        "eval_examples_per_second": evaluation.examples_per_second, "final_loss": stats.final_loss,
        "checkpoint": checkpoint.relative_to(context.out_dir).as_posix(),
    }
    logger.info("trained %s/%s: clean %s", unit.model, unit.variant,
                ", ".join(f"{name} {value:.3f}" for name, value in clean.items() if "." not in name))
    context.store.record_train(identity(context, unit), metrics, manifest=build_manifest(seed=unit.seed, device=context.device),
                               finished_at=utc_now(), wall_seconds=time.perf_counter() - started,
                               resources=asdict(memory.peaks), task_metrics={f"clean.{name}": value for name, value in clean.items()})


def run_attack_unit(context: RunContext, unit: AttackUnit) -> None:
    import torch

    from harness.models import load_checkpoint

    suite = context.suite
    started = time.perf_counter()
    task = context.task(unit.task)
    folder = context.stored_checkpoint(unit.train_key)
    if folder is None or not folder.is_dir():
        raise RuntimeError(f"checkpoint of training unit {unit.train_key} is missing; rerun to retrain it")
    model, tokenizer = load_checkpoint(folder, head=task.model_head)
    device = torch.device(context.device)
    model.to(device).eval()
    splits, _ = context.splits(unit.task)
    budget = suite.attack_for(unit.task)
    examples = attacked_examples(splits.test, budget.examples, budget.seed)
    logger.info("attacking %s/%s with %s on %d examples (unit %s)", unit.model, unit.variant, unit.attack, len(examples), unit.key)
    with PeakMemory() as memory:
        run = task.attack(model, tokenizer, unit.attack, examples, budget=budget,
                          max_length=suite.training_for(unit.task).max_length,
                          device=device, progress=context.progress)
    summary = run.summary
    metrics = {
        "attacked": summary.attacked, "skipped": summary.skipped, "succeeded": summary.succeeded, "failed": summary.failed,
        "robust_accuracy": summary.robust_accuracy, "attack_success_rate": summary.attack_success_rate,
        "mean_perturbed_word_fraction": summary.mean_perturbed_word_fraction,
        "mean_model_evaluations": summary.mean_model_evaluations, "mean_queries": summary.mean_queries,
        "attack_seconds": summary.seconds, "attack_examples_per_second": summary.examples_per_second,
    }
    rows = []
    for record in run.records:
        row = asdict(record)
        row["idx"] = row.pop("index")
        rows.append(row)
    task_metrics = {f"robust.{name}": value for name, value in run.robust_metrics.items()}
    task_metrics.update({f"attacked_clean.{name}": value for name, value in run.attacked_clean_metrics.items()})
    logger.info("attacked %s/%s with %s: %s under attack %.3f, success rate %.3f", unit.model, unit.variant, unit.attack,
                task.headline, run.robust_metrics.get(task.headline, math.nan), summary.attack_success_rate)
    context.store.record_attack(identity(context, unit), metrics, rows, manifest=build_manifest(seed=unit.seed, device=context.device),
                                finished_at=utc_now(), wall_seconds=time.perf_counter() - started,
                                resources=asdict(memory.peaks), task_metrics=task_metrics)
