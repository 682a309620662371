"""Expand a suite into a plan: training and attack units in dependency order.

A unit's key is a hash of everything that determines its result (task and data source,
model source, variant and its hyperparameters, training settings, attack and budget,
seed, and the keys of the units it depends on), so a stored key is never recomputed.
"""

from __future__ import annotations

import graphlib
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.suite import FileData, Suite

# Bump when a change to training or attack code changes stored results.
# Version 2: training uses the fused AdamW kernel, whose rounding differs from the loop's.
KEY_VERSION = 2


@dataclass(frozen=True)
class TrainUnit:
    """Fine-tune one model with one variant on one task and seed, then score it clean."""

    key: str
    task: str
    model: str
    variant: str
    seed: int
    teacher_key: str | None
    config: dict[str, Any] = field(compare=False, repr=False)

    @property
    def depends_on(self) -> tuple[str, ...]:
        return (self.teacher_key,) if self.teacher_key else ()


@dataclass(frozen=True)
class AttackUnit:
    """Attack one trained model with one recipe on the task's fixed attacked examples."""

    key: str
    train_key: str
    task: str
    model: str
    variant: str
    seed: int
    attack: str
    config: dict[str, Any] = field(compare=False, repr=False)

    @property
    def depends_on(self) -> tuple[str, ...]:
        return (self.train_key,)


Unit = TrainUnit | AttackUnit


@dataclass(frozen=True)
class Plan:
    """Units in an order where every unit comes after the units it depends on."""

    units: tuple[Unit, ...]

    def train_units(self) -> list[TrainUnit]:
        return [unit for unit in self.units if isinstance(unit, TrainUnit)]

    def attack_units(self) -> list[AttackUnit]:
        return [unit for unit in self.units if isinstance(unit, AttackUnit)]


def unit_key(config: dict[str, Any]) -> str:
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:20]


def _settings_config(settings: Any) -> dict[str, Any]:
    """Dump training or attack settings for a key; the default fp32 precision is left out, so keys from before the option stay valid."""
    config = settings.model_dump(mode="json")
    if config.get("precision") == "fp32":
        del config["precision"]
    return config


def _data_config(suite: Suite, task_name: str) -> dict[str, Any]:
    data = suite.tasks[task_name].data
    config = data.model_dump(mode="json")
    if isinstance(data, FileData) and data.path.is_file():
        # The file's content, not its path, determines results.
        config["path"] = data.path.name
        config["sha256"] = hashlib.sha256(Path(data.path).read_bytes()).hexdigest()
    return config


def _model_config(suite: Suite, model_name: str) -> dict[str, Any]:
    spec = suite.models[model_name]
    # allow_pickle joins the key only when set, so keys of suites without it stay the same.
    config = spec.model_dump(mode="json", exclude={"variants", "allow_pickle"})
    weight_suffixes = (".json", ".safetensors", ".txt", ".model")
    if spec.allow_pickle:
        config["allow_pickle"] = True
        weight_suffixes += (".bin",)
    if spec.source == "local" and spec.path is not None:
        # The folder's content, not its path, determines results.
        config["path"] = spec.path.name
        config["sha256"] = {
            file.name: hashlib.sha256(file.read_bytes()).hexdigest()
            for file in sorted(spec.path.glob("*")) if file.is_file() and file.suffix in weight_suffixes
        }
    # NOTE: a hub model without a revision is keyed by its name, so a changed upload on the hub
    # goes unnoticed. Pin `revision` for reproducible keys.
    return config


def build_plan(suite: Suite) -> Plan:
    """Expand tasks × models × variants × seeds into training units and × attacks into attack units."""
    train_units: dict[tuple[str, str, str, int], TrainUnit] = {}

    def train_unit(task: str, model: str, variant: str, seed: int) -> TrainUnit:
        ident = (task, model, variant, seed)
        if ident in train_units:
            return train_units[ident]
        kind, params = suite.resolved_variants[variant]
        teacher_key = None
        kd = getattr(params, "kd", params) if kind in ("kd", "rs") else None
        if kd is not None:
            teacher_model = model if kd.teacher == "self" else kd.teacher
            teacher_key = train_unit(task, teacher_model, kd.teacher_variant, seed).key
        task_config = {"type": suite.tasks[task].type, "data": _data_config(suite, task)}
        settings = suite.task_settings(task).model_dump(mode="json")
        if settings:
            # Left out when empty (classification), so keys of earlier suites stay valid.
            task_config["settings"] = settings
        config = {
            "key_version": KEY_VERSION,
            "unit": "train",
            "task": task_config,
            "model": _model_config(suite, model),
            "variant": {"kind": kind, "params": params.model_dump(mode="json")},
            "training": _settings_config(suite.training_for(task)),
            "seed": seed,
            "teacher": teacher_key,
        }
        if kind == "adv-a2t":
            # Its training attack cuts texts to the max_length tokens the model reads.
            config["text_window"] = "max_length"
        unit = TrainUnit(unit_key(config), task, model, variant, seed, teacher_key, config)
        train_units[ident] = unit
        return unit

    attack_units: list[AttackUnit] = []
    for task in suite.tasks:
        for model in suite.models_for(task):
            for variant in suite.variants_for(model, task):
                for seed in suite.seeds:
                    trained = train_unit(task, model, variant, seed)
                    for attack in suite.attacks_for(task):
                        config = {
                            "key_version": KEY_VERSION,
                            "unit": "attack",
                            "train": trained.key,
                            "attack": attack,
                            "budget": _settings_config(suite.attack_for(task)),
                            "max_length": suite.training_for(task).max_length,
                            # Attacked texts are cut to the max_length tokens the model reads.
                            "text_window": "max_length",
                        }
                        attack_units.append(AttackUnit(unit_key(config), trained.key, task, model, variant, seed, attack, config))

    by_key: dict[str, Unit] = {unit.key: unit for unit in train_units.values()}
    by_key.update({unit.key: unit for unit in attack_units})
    sorter = graphlib.TopologicalSorter({key: unit.depends_on for key, unit in by_key.items()})
    order = list(sorter.static_order())
    # Keep training units first so models train before attacks start, and the suite order otherwise.
    position = {key: index for index, key in enumerate(by_key)}
    rank = {key: index for index, key in enumerate(order)}
    ordered = sorted(by_key.values(), key=lambda unit: (isinstance(unit, AttackUnit), rank[unit.key], position[unit.key]))
    return Plan(tuple(ordered))
