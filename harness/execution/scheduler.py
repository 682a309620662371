"""Dependency-ordered dispatch of a plan's units to a backend; only this process writes the store.

A unit starts once every unit it depends on is done: a teacher's training before its
students', a model's training before its attacks. Among the units that are ready, plan
order decides, so training units go first. The backend runs units (in this process, in
worker processes, as Ray tasks); their outcomes come back here and are written to the store.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Protocol

from harness.errors import StorageError
from harness.execution.manifest import build_manifest, utc_now
from harness.execution.plan import AttackUnit, Plan, TrainUnit, Unit
from harness.execution.units import RunContext, identity, run_attack_unit, run_train_unit
from harness.execution.worker import UnitOutcome

logger = logging.getLogger(__name__)


@dataclass
class RunSummary:
    """Units of a run: computed now, read from the store, failed, and failed in an earlier run and not retried."""

    computed: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    kept_failed: list[str] = field(default_factory=list)


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run: the running units were abandoned; ``summary`` counts what finished before."""

    def __init__(self, summary: RunSummary):
        super().__init__()
        self.summary = summary


class Backend(Protocol):
    """Runs units somewhere. ``capacity`` is the number of units it runs at once (None: no limit here)."""

    capacity: int | None

    def submit(self, unit: Unit, checkpoints: dict[str, str]) -> Hashable: ...

    def wait(self, handles: list[Hashable]) -> list[tuple[Hashable, UnitOutcome]]: ...

    def device_of(self, unit: Unit) -> str: ...

    def abort(self) -> None: ...

    def close(self) -> None: ...


def run_plan(plan: Plan, context: RunContext, backend: Backend, *, retry_failed: bool,
             artifacts_present: Callable[[Unit], bool]) -> RunSummary:
    """Run every unit of ``plan`` that is not stored as done, in dependency order, and store each outcome.

    A unit stored as failed is run again only with ``retry_failed``; otherwise it stays failed
    and so do the units that depend on it.

    Raises:
        RunInterrupted: on Ctrl-C, after the backend has stopped the running units.
    """
    summary = RunSummary()
    total = len(plan.units)
    position = {unit.key: index for index, unit in enumerate(plan.units, start=1)}
    done: set[str] = set()
    failed: set[str] = set()
    pending: list[Unit] = []
    for unit in plan.units:
        status = context.store.status(unit.key)
        if status == "done" and artifacts_present(unit):
            logger.info("[%d/%d] %s: stored, skipped", position[unit.key], total, describe(unit))
            summary.reused.append(unit.key)
            done.add(unit.key)
        elif status == "failed" and not retry_failed:
            logger.info("[%d/%d] %s: failed in an earlier run, not retried", position[unit.key], total, describe(unit))
            summary.kept_failed.append(unit.key)
            summary.failed[unit.key] = "failed in an earlier run"
            failed.add(unit.key)
        else:
            pending.append(unit)

    running: dict[Hashable, Unit] = {}
    try:
        while pending or running:
            _dispatch(pending, running, done, failed, backend, context, summary, position, total)
            if not running:
                if pending:
                    waiting = ", ".join(describe(unit) for unit in pending)
                    raise RuntimeError(f"units wait on dependencies that are not in the plan: {waiting}")
                break
            for handle, outcome in backend.wait(list(running)):
                unit = running.pop(handle)
                _settle(unit, outcome, context, backend, summary, done, failed, f"[{position[unit.key]}/{total}]")
    except KeyboardInterrupt:
        # The in-process backend runs a unit inside submit(), so that unit is not in `running`.
        labels = ", ".join(describe(unit) for unit in running.values()) or "the unit in progress"
        logger.warning("interrupted; abandoning %s", labels)
        backend.abort()
        raise RunInterrupted(summary) from None
    finally:
        backend.close()
    return summary


def _dispatch(pending: list[Unit], running: dict[Hashable, Unit], done: set[str], failed: set[str], backend: Backend,
              context: RunContext, summary: RunSummary, position: dict[str, int], total: int) -> None:
    """Submit the ready units in plan order, and fail the units whose dependencies failed."""
    progressed = True
    while progressed:
        progressed = False
        for unit in list(pending):
            blocked = [key for key in unit.depends_on if key in failed]
            if blocked:
                pending.remove(unit)
                _settle(unit, UnitOutcome(unit.key, error=f"RuntimeError: depends on failed unit {blocked[0]}"),
                        context, backend, summary, done, failed, f"[{position[unit.key]}/{total}]")
                progressed = True
            elif all(key in done for key in unit.depends_on):
                if backend.capacity is not None and len(running) >= backend.capacity:
                    return
                pending.remove(unit)
                logger.info("[%d/%d] %s: running", position[unit.key], total, describe(unit))
                # Every dependency is a training unit stored as done, so it has a checkpoint.
                checkpoints = {key: context.store.checkpoint(key).as_posix() for key in unit.depends_on}
                running[backend.submit(unit, checkpoints)] = unit
                progressed = True


def _settle(unit: Unit, outcome: UnitOutcome, context: RunContext, backend: Backend, summary: RunSummary,
            done: set[str], failed: set[str], prefix: str) -> None:
    """Write a unit's outcome to the store and update the run's state."""
    if outcome.error is None:
        try:
            for method, args, kwargs in outcome.records:
                if not method.startswith("record_"):
                    raise ValueError(f"unexpected store call {method!r} from a worker")
                getattr(context.store, method)(*args, **kwargs)
        except StorageError:
            raise  # a full disk or read-only folder fails every later unit too, so the run stops
        except Exception as exc:  # as in the in-process path, a unit whose results cannot be stored fails
            outcome = UnitOutcome(unit.key, error=f"{type(exc).__name__}: {exc}", seconds=outcome.seconds)
        else:
            summary.computed.append(unit.key)
            done.add(unit.key)
            return
    logger.error("%s %s failed: %s", prefix, describe(unit), outcome.error)
    if outcome.detail:
        logger.debug("traceback of unit %s:\n%s", unit.key, outcome.detail)
    failed.add(unit.key)
    summary.failed[unit.key] = outcome.error
    context.store.record_failure(identity(context, unit), outcome.error,
                                 manifest=build_manifest(seed=unit.seed, device=backend.device_of(unit)),
                                 finished_at=utc_now(), wall_seconds=outcome.seconds)


def describe(unit: Unit) -> str:
    base = f"{unit.task}/{unit.model}/{unit.variant}/seed {unit.seed}"
    return f"attack {unit.attack} on {base}" if isinstance(unit, AttackUnit) else f"train {base}"


class InProcessBackend:
    """Runs each unit at submission, in this process, against the real store: the behaviour of one worker."""

    capacity = 1

    def __init__(self, context: RunContext):
        self._context = context
        self._outcomes: dict[int, UnitOutcome] = {}
        self._next = 0

    def submit(self, unit: Unit, checkpoints: dict[str, str]) -> int:
        started = time.perf_counter()
        try:
            if isinstance(unit, TrainUnit):
                run_train_unit(self._context, unit)
            else:
                run_attack_unit(self._context, unit)
            outcome = UnitOutcome(unit.key, stored=True)
        except StorageError:
            raise  # a full disk or read-only folder fails every later unit too, so the run stops
        except Exception as exc:  # a failing unit is recorded and the suite goes on
            outcome = UnitOutcome(unit.key, error=f"{type(exc).__name__}: {exc}", detail=traceback.format_exc())
        outcome.seconds = time.perf_counter() - started
        self._next += 1
        self._outcomes[self._next] = outcome
        return self._next

    def wait(self, handles: list[int]) -> list[tuple[int, UnitOutcome]]:
        return [(handle, self._outcomes.pop(handle)) for handle in handles]

    def device_of(self, unit: Unit) -> str:
        return self._context.device

    def abort(self) -> None:
        pass

    def close(self) -> None:
        pass
