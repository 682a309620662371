"""Turn stored units into leaderboard rows and example views, and write the leaderboard."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness import catalog

from harness.errors import RsbenchError, as_storage_error
from harness.gate.snapshot import collect_example_outcomes, example_outcome_fields
from harness.report import ExampleView, LeaderboardRow, render_leaderboard
from harness.store import Store
from harness.tasks.base import ExampleDescription
from harness.validity.params import ValidityParams, stored_validity_params
from harness.validity.summary import example_validity_fields, unit_summaries, validity_fields

RESULTS_FILE = "results.sqlite"


def collect_rows(store: Store, keys: set[str] | None = None, validity: ValidityParams | None = None) -> list[LeaderboardRow]:
    """Build one row per attack unit, joined with its training unit, and one per training unit without attacks.

    ``keys`` limits the rows to those units; None takes every stored unit. ``validity`` sets
    the thresholds of the validity columns (the defaults when None).
    """
    stored_units = store.units()
    units = [unit for unit in stored_units if keys is None or unit["key"] in keys]
    train_metrics = store.train_metrics()
    attack_metrics = store.attack_metrics()
    validity_summaries = unit_summaries(store, validity or ValidityParams(), attack_metrics)
    resources = store.unit_resources()
    task_metrics = store.task_metrics()
    train_types = {unit["key"]: _task_type(unit["config_json"]) for unit in stored_units if unit["kind"] == "train"}
    train_units = {unit["key"]: unit for unit in units if unit["kind"] == "train"}
    attacked_train_keys = {unit["train_key"] for unit in units if unit["kind"] == "attack"}
    rows = []
    for unit in units:
        if unit["kind"] == "train" and unit["key"] in attacked_train_keys:
            continue
        train_key = unit["train_key"] if unit["kind"] == "attack" else unit["key"]
        trained = train_metrics.get(train_key)
        attacked = attack_metrics.get(unit["key"]) if unit["kind"] == "attack" else None
        error = unit["error"]
        train_unit = train_units.get(train_key)
        if unit["kind"] == "attack" and train_unit is not None and train_unit["status"] == "failed":
            error = f"training unit {train_key} failed: {train_unit['error']}"

        def pick(source, column):
            return None if source is None else source[column]

        rows.append(LeaderboardRow(
            unit_key=unit["key"], train_key=train_key, task=unit["task"], dataset=unit["dataset"],
            dataset_generated=bool(unit["dataset_generated"]), model=unit["model"], variant=unit["variant"],
            attack=unit["attack"], seed=unit["seed"], status=unit["status"], error=error,
            clean_accuracy=pick(trained, "clean_accuracy"), clean_macro_f1=pick(trained, "clean_macro_f1"),
            robust_accuracy=pick(attacked, "robust_accuracy"), attack_success_rate=pick(attacked, "attack_success_rate"),
            mean_perturbed_word_fraction=pick(attacked, "mean_perturbed_word_fraction"),
            mean_model_evaluations=pick(attacked, "mean_model_evaluations"), mean_queries=pick(attacked, "mean_queries"),
            attacked=pick(attacked, "attacked"), skipped=pick(attacked, "skipped"),
            succeeded=pick(attacked, "succeeded"), failed=pick(attacked, "failed"),
            train_examples_per_second=pick(trained, "train_examples_per_second"),
            eval_examples_per_second=pick(trained, "eval_examples_per_second"),
            attack_examples_per_second=pick(attacked, "attack_examples_per_second"),
            train_seconds=pick(trained, "train_seconds"), attack_seconds=pick(attacked, "attack_seconds"),
            variant_kind=unit["variant_kind"],
            **validity_fields(validity_summaries.get(unit["key"])),
            train_peak_rss_bytes=pick(resources.get(train_key), "peak_rss_bytes"),
            train_peak_gpu_bytes=pick(resources.get(train_key), "peak_gpu_bytes"),
            attack_peak_rss_bytes=pick(attacked and resources.get(unit["key"]), "peak_rss_bytes"),
            attack_peak_gpu_bytes=pick(attacked and resources.get(unit["key"]), "peak_gpu_bytes"),
            task_metrics={**task_metrics.get(train_key, {}), **(task_metrics.get(unit["key"], {}) if unit["kind"] == "attack" else {})},
            headline=_headline(train_types.get(train_key)), task_type=train_types.get(train_key),
        ))
    return rows


def _task_type(config_json: str) -> str | None:
    task = json.loads(config_json).get("task")
    return task.get("type") if isinstance(task, dict) else None


def _headline(task_type: str | None) -> str | None:
    """Return the headline metric of a task type; None when the type is unknown."""
    if task_type is None or task_type not in catalog.TASKS:
        return None
    return catalog.TASKS.entry(task_type).meta("headline")


def _task_for_examples(units: list[Any]) -> dict[str, Any]:
    """Map each attack unit's key to the task object that renders its examples' details."""
    types = {unit["key"]: _task_type(unit["config_json"]) for unit in units if unit["kind"] == "train"}
    tasks: dict[str, Any] = {}
    built: dict[str, Any] = {}
    for unit in units:
        task_type = types.get(unit["train_key"]) if unit["kind"] == "attack" else None
        if task_type is None or task_type not in catalog.TASKS:
            continue
        if task_type not in built:
            built[task_type] = catalog.TASKS.get(task_type)()
        tasks[unit["key"]] = built[task_type]
    return tasks


def collect_examples(store: Store, keys: set[str] | None = None) -> list[ExampleView]:
    units = store.units()
    labels = {unit["key"]: json.loads(unit["label_names_json"]) for unit in units}
    tasks = _task_for_examples(units)
    scores = {(row["unit_key"], row["idx"]): row for row in store.validity_examples()}
    views = []
    for row in store.examples():
        if keys is not None and row["unit_key"] not in keys:
            continue
        names = labels.get(row["unit_key"], [])

        def name(index: int) -> str:
            return names[index] if 0 <= index < len(names) else str(index)

        described = ExampleDescription(name(row["label"]), name(row["original_prediction"]), name(row["perturbed_prediction"]))
        details_json = row["details_json"] if "details_json" in row.keys() else None
        task = tasks.get(row["unit_key"])
        if details_json is not None and task is not None:
            described = task.describe_example(json.loads(details_json), tuple(names))
        views.append(ExampleView(
            unit_key=row["unit_key"], index=row["idx"], original_text=row["original_text"],
            perturbed_text=row["perturbed_text"], label=described.label,
            original_prediction=described.original_prediction, perturbed_prediction=described.perturbed_prediction,
            outcome=row["outcome"], words_changed=row["words_changed"], model_evaluations=row["model_evaluations"],
            **example_validity_fields(scores.get((row["unit_key"], row["idx"]))),
        ))
    return views


def run_manifest(store: Store, suite_name: str) -> dict:
    """Return the manifest of the most recently finished unit, with the suite name added."""
    units = store.units()
    if not units:
        return {"suite": suite_name}
    latest = max(units, key=lambda unit: unit["finished_at"])
    manifest = json.loads(latest["manifest_json"])
    manifest["suite"] = suite_name
    return manifest


def write_leaderboard(out_dir: Path, suite_name: str | None = None, validity: ValidityParams | None = None) -> tuple[Path, Path]:
    """Render ``leaderboard.json`` and ``leaderboard.html`` from ``out_dir/results.sqlite``; returns both paths in that order.

    The leaderboard shows the units of the most recent run's plan. Units stored by earlier
    runs with other settings stay in the database but are left out. ``validity`` sets the
    validity thresholds; None takes those the last run stored, else the defaults.
    """
    database = out_dir / RESULTS_FILE
    if not database.is_file():
        raise RsbenchError(f"{database}: no results database. Pass the output folder of `rsbench run` (default reports/<suite name>).")
    with Store(database, readonly=True) as store:
        suite_name = suite_name or store.meta("suite") or out_dir.resolve().name
        plan_keys = store.meta("plan_keys")
        keys = set(json.loads(plan_keys)) if plan_keys else None
        validity = validity or stored_validity_params(store)
        rows = collect_rows(store, keys, validity)
        examples = collect_examples(store, keys)
        manifest = run_manifest(store, suite_name)
        manifest["validity_thresholds"] = validity.thresholds()
        # Per-example outcomes make the leaderboard usable as a baseline of `rsbench compare`.
        unit_fields = example_outcome_fields(rows, collect_example_outcomes(store, keys))
    try:
        json_path, html_path = render_leaderboard(out_dir, suite_name=suite_name, rows=rows, examples=examples,
                                                  manifest=manifest, unit_fields=unit_fields)
    except OSError as exc:
        storage_error = as_storage_error(exc, out_dir, "write the leaderboard")
        if storage_error is None:
            raise
        raise storage_error from None
    return json_path, html_path
