"""Snapshots of a run read from its output folder, a baseline file or a ``leaderboard.json``.

A baseline file (``rsbench baseline``) has this shape::

    {"format": "rsbench-baseline", "schema_version": 1, "suite": "smoke",
     "created_at": "...", "source": "reports/smoke", "manifest": {...},
     "units": [{"unit_key", "train_key", "task", "dataset", "model", "variant", "attack",
                "seed", "status", "error", "metrics": {...}, "example_outcomes": [...]}]}

A ``leaderboard.json`` carries the same units with the metrics as top-level fields.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import reprlib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from harness.errors import RsbenchError
from harness.gate.snapshot import OUTCOMES_FIELD, collect_example_outcomes, write_json_atomically
from harness.gate.tolerance import GATED_METRICS
from harness.store import Store

BASELINE_FORMAT = "rsbench-baseline"
BASELINE_SCHEMA_VERSION = 1
# The schema version of leaderboard.json (harness/report/render.py) that this module reads.
LEADERBOARD_SCHEMA_VERSION = 1
RESULTS_FILE = "results.sqlite"

# Metrics copied from a leaderboard row into a snapshot unit.
METRIC_FIELDS = (
    "clean_accuracy", "clean_macro_f1", "robust_accuracy", "attack_success_rate", "mean_perturbed_word_fraction",
    "mean_model_evaluations", "mean_queries", "attacked", "skipped", "succeeded", "failed",
    "train_examples_per_second", "eval_examples_per_second", "attack_examples_per_second", "train_seconds", "attack_seconds",
)


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ExampleOutcome(_Record):
    """One attacked example of a unit: its position in the attacked sample, its text hash and outcome."""

    index: int = Field(ge=0)
    text_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    # -1 for tasks whose output is not one class (NER, extractive QA).
    label: int = Field(ge=-1)
    outcome: Literal["succeeded", "failed", "skipped"]
    clean_correct: Literal[0, 1]
    robust_correct: Literal[0, 1]


class SnapshotUnit(_Record):
    """One unit of a snapshot: a trained model under one attack, or a trained model alone (``attack`` null)."""

    unit_key: str
    train_key: str | None = None
    task: str
    dataset: str
    model: str
    variant: str
    attack: str | None
    seed: int
    status: Literal["done", "failed"]
    error: str | None = None
    metrics: dict[str, int | float | None]
    example_outcomes: list[ExampleOutcome] | None = None

    @field_validator("metrics", mode="before")
    @classmethod
    def _gated_metrics_are_fractions(cls, metrics: Any) -> Any:
        # The gate compares these values with tolerances on a [0, 1] scale. A value outside
        # it, or an integer too large for a float, would pass or fail every comparison.
        # This check runs before type validation because that turns true and false into 1 and 0.
        if not isinstance(metrics, dict):
            return metrics
        for name in GATED_METRICS:
            value = metrics.get(name)
            if isinstance(value, bool) or (isinstance(value, (int, float)) and not 0 <= value <= 1):
                raise ValueError(f"{name} must be null or a number in [0, 1], got {reprlib.repr(value)}")
        return metrics

    @property
    def identity(self) -> tuple[str, str, str, str | None, int]:
        """The fields that match a unit between two runs: task, model, variant, attack, seed."""
        return (self.task, self.model, self.variant, self.attack, self.seed)

    @property
    def label(self) -> str:
        """The unit's name in outputs, such as ``sentiment/tiny-bert/baseline/deepwordbug/seed 0``."""
        return f"{self.task}/{self.model}/{self.variant}/{self.attack or 'no attack'}/seed {self.seed}"


class Snapshot(_Record):
    """The units of one run, read from its store, a baseline file or a leaderboard file."""

    suite: str
    source: str
    manifest: dict[str, Any] = Field(default_factory=dict)
    units: list[SnapshotUnit]


class BaselineDocument(_Record):
    """The JSON document that ``rsbench baseline`` writes."""

    format: Literal["rsbench-baseline"]
    schema_version: int
    suite: str
    created_at: str
    source: str
    manifest: dict[str, Any] = Field(default_factory=dict)
    units: list[SnapshotUnit]


class _LeaderboardUnit(BaseModel):
    # leaderboard.json units carry display fields too; only the ones below are read.
    model_config = ConfigDict(extra="ignore", frozen=True)

    unit_key: str
    train_key: str | None = None
    task: str
    dataset: str
    model: str
    variant: str
    attack: str | None
    seed: int
    status: Literal["done", "failed"]
    error: str | None = None
    example_outcomes: list[ExampleOutcome] | None = None


class _LeaderboardDocument(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    schema_version: int
    suite: str
    generated_at: str
    manifest: dict[str, Any] = Field(default_factory=dict)
    units: list[dict[str, Any]]


def snapshot_from_run(run_dir: Path) -> Snapshot:
    """Read the units of the most recent run's plan from ``run_dir/results.sqlite``.

    Raises:
        RsbenchError: the folder has no results database, or it cannot be read.
    """
    from harness.results import collect_rows, run_manifest

    database = Path(run_dir) / RESULTS_FILE
    if not database.is_file():
        raise RsbenchError(f"{database}: no results database. Pass the output folder of `rsbench run` (default reports/<suite name>).")
    with Store(database, readonly=True) as store:
        suite_name = store.meta("suite") or Path(run_dir).resolve().name
        plan_keys = store.meta("plan_keys")
        keys = set(json.loads(plan_keys)) if plan_keys else None
        rows = collect_rows(store, keys)
        outcomes = collect_example_outcomes(store, keys)
        manifest = run_manifest(store, suite_name)
    units = []
    for row in rows:
        metrics = {name: _finite(getattr(row, name)) for name in METRIC_FIELDS}
        units.append(SnapshotUnit(
            unit_key=row.unit_key, train_key=row.train_key, task=row.task, dataset=row.dataset, model=row.model,
            variant=row.variant, attack=row.attack, seed=row.seed, status=row.status, error=row.error, metrics=metrics,
            example_outcomes=[ExampleOutcome(**record) for record in outcomes.get(row.unit_key, [])] if row.attack else None,
        ))
    return Snapshot(suite=suite_name, source=str(run_dir), manifest=manifest, units=units)


def write_baseline(run_dir: Path, path: Path) -> Snapshot:
    """Write the baseline of the run in ``run_dir`` to ``path`` and return its snapshot.

    Raises:
        RsbenchError: the run has no units, a unit failed, or ``path`` cannot be written.
    """
    from harness.gate.outputs import check_output_paths

    check_output_paths({"-o": path}, {"the results database of the run": Path(run_dir) / RESULTS_FILE})
    snapshot = snapshot_from_run(run_dir)
    if not snapshot.units:
        raise RsbenchError(f"{run_dir}: the results database contains no units. Run the suite with `rsbench run` first.")
    failed = [unit for unit in snapshot.units if unit.status != "done"]
    if failed:
        names = "; ".join(f"{unit.label} ({unit.error})" for unit in failed[:5])
        raise RsbenchError(
            f"{run_dir}: {len(failed)} unit(s) failed, so the run cannot serve as a baseline: {names}. "
            "Fix the cause, rerun the suite until every unit succeeds, then write the baseline."
        )
    document = BaselineDocument(
        format=BASELINE_FORMAT, schema_version=BASELINE_SCHEMA_VERSION, suite=snapshot.suite,
        created_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), source=snapshot.source,
        manifest=snapshot.manifest, units=snapshot.units,
    )
    if path.is_dir():
        raise RsbenchError(f"-o {path}: is a folder. Give a file path such as baseline.json.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomically(path, document.model_dump(mode="json"))
    except OSError as exc:
        raise RsbenchError(f"-o {path}: cannot write the baseline ({exc.strerror or exc}). Choose a writable path.") from None
    return snapshot


def load_snapshot_file(path: Path) -> Snapshot:
    """Read a baseline file or a ``leaderboard.json``.

    Raises:
        RsbenchError: the file is missing, unreadable, not JSON, of another schema version,
            or does not match the schema. The message names the file, the field and the fix.
    """
    path = Path(path)
    if path.is_dir():
        raise RsbenchError(f"--baseline {path}: is a folder. Pass a baseline file such as baseline.json, or a run's leaderboard.json.")
    if not path.is_file():
        raise RsbenchError(f"--baseline {path}: file not found. Write one with `rsbench baseline RUN_DIR -o {path}`.")
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise RsbenchError(f"--baseline {path}: cannot read the file ({exc}). Check its permissions and that it is UTF-8 JSON.") from None
    except json.JSONDecodeError as exc:
        raise RsbenchError(
            f"--baseline {path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}. "
            "Restore the file or write it again with `rsbench baseline`."
        ) from None
    except (ValueError, RecursionError) as exc:
        # json raises ValueError for an integer of more than 4300 digits and RecursionError
        # for arrays or objects nested deeper than the interpreter's recursion limit.
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc).split(";")[0]
        raise RsbenchError(
            f"--baseline {path}: cannot be parsed as JSON ({reason}). Restore the file or write it again with `rsbench baseline`."
        ) from None
    if not isinstance(payload, dict):
        raise RsbenchError(f"--baseline {path}: expected a JSON object, got {type(payload).__name__}. Pass a baseline file or a leaderboard.json.")
    if "format" in payload:
        return _from_baseline(path, payload)
    if "generated_at" in payload and "units" in payload:
        return _from_leaderboard(path, payload)
    raise RsbenchError(
        f"--baseline {path}: neither a baseline file (no 'format' field) nor a leaderboard.json (no 'generated_at' and 'units'). "
        "Pass a file written by `rsbench baseline` or a run's leaderboard.json."
    )


def _from_baseline(path: Path, payload: dict[str, Any]) -> Snapshot:
    if payload.get("format") != BASELINE_FORMAT:
        raise RsbenchError(f"--baseline {path}: format {payload.get('format')!r}, expected {BASELINE_FORMAT!r}. Pass a file written by `rsbench baseline`.")
    version = payload.get("schema_version")
    if version != BASELINE_SCHEMA_VERSION:
        raise RsbenchError(
            f"--baseline {path}: schema_version {version!r}, this rsbench reads {BASELINE_SCHEMA_VERSION}. "
            f"Write the baseline again with this rsbench: `rsbench baseline RUN_DIR -o {path}`."
        )
    try:
        document = BaselineDocument.model_validate(payload)
    except ValidationError as exc:
        raise RsbenchError(_describe_validation(path, exc, "write the baseline again with `rsbench baseline`")) from None
    return Snapshot(suite=document.suite, source=str(path), manifest=document.manifest, units=document.units)


def _from_leaderboard(path: Path, payload: dict[str, Any]) -> Snapshot:
    version = payload.get("schema_version")
    if version != LEADERBOARD_SCHEMA_VERSION:
        raise RsbenchError(
            f"--baseline {path}: leaderboard schema_version {version!r}, this rsbench reads {LEADERBOARD_SCHEMA_VERSION}. "
            "Render it again with `rsbench report RUN_DIR`, or write a baseline with `rsbench baseline RUN_DIR -o FILE`."
        )
    fix = "render it again with `rsbench report RUN_DIR`"
    try:
        document = _LeaderboardDocument.model_validate(payload)
    except ValidationError as exc:
        raise RsbenchError(_describe_validation(path, exc, fix)) from None
    units = []
    for position, raw in enumerate(document.units):
        try:
            unit = _LeaderboardUnit.model_validate(raw)
            metrics = {name: raw.get(name) for name in METRIC_FIELDS}
            units.append(SnapshotUnit(**unit.model_dump(), metrics=metrics))
        except ValidationError as exc:
            raise RsbenchError(_describe_validation(path, exc, fix, prefix=("units", position))) from None
        if unit.attack and unit.status == "done" and OUTCOMES_FIELD not in raw:
            raise RsbenchError(
                f"--baseline {path}: units.{position} ({units[-1].label}) has no '{OUTCOMES_FIELD}', so its attacked "
                f"examples cannot be paired. Render the leaderboard again with this rsbench (`rsbench report RUN_DIR`) "
                "or write a baseline with `rsbench baseline RUN_DIR -o FILE`."
            )
    return Snapshot(suite=document.suite, source=str(path), manifest=document.manifest, units=units)


def _describe_validation(path: Path, exc: ValidationError, fix: str, prefix: tuple[Any, ...] = ()) -> str:
    problems = []
    for error in exc.errors()[:10]:
        location = ".".join(str(part) for part in prefix + tuple(error["loc"])) or "(top level)"
        if error["type"] == "missing":
            problems.append(f"{location}: required field is missing")
        else:
            value_text = repr(error.get("input"))
            value_text = value_text if len(value_text) <= 60 else value_text[:57] + "..."
            problems.append(f"{location}: invalid value {value_text}: {error['msg']}")
    more = f" (and {exc.error_count() - 10} more)" if exc.error_count() > 10 else ""
    return f"--baseline {path}: does not match the schema: {'; '.join(problems)}{more}. Fix the file or {fix}."


def _finite(value: Any) -> int | float | None:
    if value is None or isinstance(value, int):
        return value
    value = float(value)
    return value if math.isfinite(value) else None
