"""Run one unit away from the store: in a worker process or a Ray task.

A worker never opens ``results.sqlite``. It runs the unit against a
:class:`RecordingStore`, which serves the few reads a unit makes (the checkpoint of a
dependency, sent by the parent) and records every ``record_*`` call. The outcome carries
those calls back to the parent, which replays them on the real store.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.execution.plan import AttackUnit, TrainUnit
from harness.execution.storage import CheckpointStorage
from harness.execution.units import RunContext, run_attack_unit, run_train_unit
from harness.suite import Suite

logger = logging.getLogger(__name__)

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


@dataclass(frozen=True)
class WorkerSetup:
    """The suite, data and settings that every unit of a run shares; sent to each worker once."""

    suite: Suite
    splits: dict[str, tuple[Any, Any]]
    out_dir: Path
    storage_url: str | None
    progress: bool
    log_level: int


@dataclass(frozen=True)
class UnitJob:
    """One unit to run, its device, and the stored checkpoint paths of the units it depends on."""

    unit: TrainUnit | AttackUnit
    device: str
    checkpoints: dict[str, str]


@dataclass
class UnitOutcome:
    """The result of one unit: the store calls to replay, or the error that stopped it."""

    key: str
    records: list[tuple[str, tuple, dict]] = field(default_factory=list)
    error: str | None = None
    detail: str | None = None
    seconds: float = 0.0
    # True when the unit ran against the real store, so there is nothing to replay.
    stored: bool = False


class RecordingStore:
    """A stand-in for :class:`~harness.store.Store` inside a worker: serves checkpoint reads, records writes."""

    def __init__(self, checkpoints: dict[str, str]):
        self._checkpoints = checkpoints
        self.records: list[tuple[str, tuple, dict]] = []

    def checkpoint(self, key: str) -> Path | None:
        relative = self._checkpoints.get(key)
        return None if relative is None else Path(relative)

    def __getattr__(self, name: str):
        if not name.startswith("record_"):
            raise AttributeError(f"a worker cannot call Store.{name}; only the parent process reads the store")

        def record(*args: Any, **kwargs: Any) -> None:
            self.records.append((name, args, kwargs))

        return record


@dataclass
class StagedContext(RunContext):
    """A run context whose checkpoints go through :class:`CheckpointStorage`."""

    storage: CheckpointStorage | None = None

    def stored_checkpoint(self, train_key: str) -> Path | None:
        relative = self.store.checkpoint(train_key)
        if relative is None:
            return None
        return self.storage.download(relative, self.out_dir)


def limit_threads(threads: int) -> None:
    """Cap this process's torch, OpenMP and MKL thread pools at ``threads``."""
    for variable in _THREAD_VARIABLES:
        os.environ[variable] = str(threads)
    import torch

    torch.set_num_threads(threads)


_staging: Path | None = None


def _staging_folder() -> Path:
    """Return a local folder of this process for checkpoints copied from and to a storage URL."""
    global _staging
    if _staging is None:
        _staging = Path(tempfile.mkdtemp(prefix="rsbench-staging-"))
        atexit.register(shutil.rmtree, _staging, True)
    return _staging


def execute_job(setup: WorkerSetup, job: UnitJob) -> UnitOutcome:
    """Run one unit and return its outcome; an exception of the unit becomes the outcome's error."""
    started = time.perf_counter()
    unit = job.unit
    storage = CheckpointStorage(setup.out_dir, setup.storage_url)
    out_dir = storage.out_dir if storage.is_output_folder else _staging_folder()
    store = RecordingStore(job.checkpoints)
    context = StagedContext(suite=setup.suite, out_dir=out_dir, store=store, device=job.device,
                            progress=setup.progress, _splits=setup.splits, storage=storage)
    try:
        if isinstance(unit, TrainUnit):
            run_train_unit(context, unit)
            storage.upload(out_dir, context.checkpoint_dir(unit.key).relative_to(out_dir))
        else:
            run_attack_unit(context, unit)
    except Exception as exc:  # the parent records the failure and the run goes on
        return UnitOutcome(unit.key, error=f"{type(exc).__name__}: {exc}", detail=traceback.format_exc(),
                           seconds=time.perf_counter() - started)
    return UnitOutcome(unit.key, records=store.records, seconds=time.perf_counter() - started)
