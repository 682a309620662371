"""The local executor: runs units one after another in this process, in plan order."""

from __future__ import annotations

import logging
import time
import traceback
from dataclasses import dataclass, field

from harness.errors import StorageError
from harness.execution.manifest import build_manifest, utc_now
from harness.execution.plan import AttackUnit, Plan, TrainUnit
from harness.execution.units import RunContext, identity, run_attack_unit, run_train_unit

logger = logging.getLogger(__name__)


@dataclass
class RunSummary:
    """Counts of a run: units computed now, read from the store, and failed."""

    computed: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


class LocalExecutor:
    """Runs each unit of a plan once; a unit stored as done is skipped, a failed one is retried."""

    def run(self, plan: Plan, context: RunContext) -> RunSummary:
        summary = RunSummary()
        failed_keys: set[str] = set()
        for position, unit in enumerate(plan.units, start=1):
            label = _describe(unit)
            if context.store.status(unit.key) == "done" and _artifacts_present(context, unit):
                logger.info("[%d/%d] %s: stored, skipped", position, len(plan.units), label)
                summary.reused.append(unit.key)
                continue
            blocked = [key for key in unit.depends_on if key in failed_keys]
            started = time.perf_counter()
            try:
                if blocked:
                    raise RuntimeError(f"depends on failed unit {blocked[0]}")
                logger.info("[%d/%d] %s: running", position, len(plan.units), label)
                if isinstance(unit, TrainUnit):
                    run_train_unit(context, unit)
                else:
                    run_attack_unit(context, unit)
                summary.computed.append(unit.key)
            except StorageError:
                raise  # a full disk or read-only folder fails every later unit too, so the run stops
            except Exception as exc:  # a failing unit is recorded and the suite goes on
                message = f"{type(exc).__name__}: {exc}"
                logger.error("[%d/%d] %s failed: %s", position, len(plan.units), label, message)
                logger.debug("traceback of unit %s:\n%s", unit.key, traceback.format_exc())
                failed_keys.add(unit.key)
                summary.failed[unit.key] = message
                context.store.record_failure(identity(context, unit), message,
                                             manifest=build_manifest(seed=unit.seed, device=context.device),
                                             finished_at=utc_now(), wall_seconds=time.perf_counter() - started)
        return summary


def _artifacts_present(context: RunContext, unit: TrainUnit | AttackUnit) -> bool:
    """Tell whether a stored training unit still has its checkpoint; attack units have no artifacts."""
    if isinstance(unit, AttackUnit):
        return True
    folder = context.stored_checkpoint(unit.key)
    if folder is not None and (folder / "model.safetensors").is_file():
        return True
    logger.warning("checkpoint of stored unit %s is missing; training it again", unit.key)
    return False


def _describe(unit: TrainUnit | AttackUnit) -> str:
    base = f"{unit.task}/{unit.model}/{unit.variant}/seed {unit.seed}"
    return f"attack {unit.attack} on {base}" if isinstance(unit, AttackUnit) else f"train {base}"
