"""The Ray executor: every unit is a Ray task with the CPUs, GPUs and memory its kind declares.

Units are submitted in dependency order as their dependencies finish; Ray places them on
the cluster's nodes. Results come back to the driver (the ``rsbench run`` process), which
alone writes the store. Checkpoints go to the executor's ``storage``: the output folder
by default, which every worker reaches only on one machine or a shared file system, or
an fsspec URL such as ``s3://bucket/rsbench`` for a cluster.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from harness.errors import RsbenchError
from harness.execution.local import _artifacts_present
from harness.execution.plan import AttackUnit, Plan, Unit
from harness.execution.scheduler import RunSummary, run_plan
from harness.execution.storage import CheckpointStorage
from harness.execution.units import RunContext
from harness.execution.worker import UnitJob, UnitOutcome, WorkerSetup, execute_job, limit_threads
from harness.suite import ExecutorSpec, UnitResources

logger = logging.getLogger(__name__)


class RayExecutor:
    """Runs the units of a plan as Ray tasks; settings ``address``, ``storage`` and ``resources``."""

    def __init__(self, spec: ExecutorSpec | None = None):
        self.spec = spec or ExecutorSpec(name="ray")

    def run(self, plan: Plan, context: RunContext, *, retry_failed: bool = False) -> RunSummary:
        storage = CheckpointStorage(context.out_dir, self.spec.storage)
        storage.check_reachable()  # before Ray starts, which takes seconds
        backend = RayBackend(self.spec, context, storage)

        def artifacts_present(unit: Unit) -> bool:
            if storage.is_output_folder or isinstance(unit, AttackUnit):
                return _artifacts_present(context, unit)
            relative = context.store.checkpoint(unit.key)
            if relative is not None and storage.has_checkpoint(relative):
                return True
            logger.warning("checkpoint of stored unit %s is missing from %s; training it again", unit.key, storage.url)
            return False

        return run_plan(plan, context, backend, retry_failed=retry_failed, artifacts_present=artifacts_present)


def unit_resources(spec: ExecutorSpec, unit: Unit) -> UnitResources:
    return spec.resources.get("attack" if isinstance(unit, AttackUnit) else "train", UnitResources())


def _run_task(setup: WorkerSetup, job: UnitJob, threads: int) -> UnitOutcome:
    """Run one unit inside a Ray task: set up logging and the thread limit, then run the unit."""
    from harness.logging_setup import setup_logging

    setup_logging(logging.getLevelName(setup.log_level))
    limit_threads(threads)
    return execute_job(setup, job)


class RayBackend:
    """Submits units as Ray tasks and collects their outcomes with ``ray.wait``."""

    capacity = None

    def __init__(self, spec: ExecutorSpec, context: RunContext, storage: CheckpointStorage):
        try:
            import ray
        except ImportError:
            raise RsbenchError("executor ray: the ray package is not installed. Install it with `pip install ray`.") from None
        self._ray = ray
        self._spec = spec
        self._started_here = False
        if not ray.is_initialized():
            # Without an address Ray starts a local instance (all CPUs of this machine).
            logger.info("connecting to Ray at %s", spec.address or "a new local instance")
            try:
                ray.init(address=spec.address, include_dashboard=False, logging_level=logging.WARNING)
            except (ConnectionError, ValueError) as exc:
                raise RsbenchError(
                    f"executor.address {spec.address!r}: cannot connect to a Ray cluster ({exc}). "
                    "Start the cluster (`ray start --head`) or correct the address."
                ) from None
            self._started_here = True
        setup = WorkerSetup(suite=context.suite, splits=context._splits, out_dir=storage.out_dir,
                            storage_url=storage.url, progress=False, log_level=logging.getLogger().getEffectiveLevel())
        self._setup = ray.put(setup)
        self._task = ray.remote(max_retries=0)(_run_task)
        self._keys: dict[Any, str] = {}

    def device_of(self, unit: Unit) -> str:
        return "cuda" if unit_resources(self._spec, unit).gpus > 0 else "cpu"

    def submit(self, unit: Unit, checkpoints: dict[str, str]) -> Any:
        resources = unit_resources(self._spec, unit)
        options: dict[str, Any] = {"num_cpus": resources.cpus, "num_gpus": resources.gpus}
        if resources.memory is not None:
            options["memory"] = int(resources.memory)
        threads = max(1, math.ceil(resources.cpus))
        job = UnitJob(unit, self.device_of(unit), checkpoints)
        reference = self._task.options(**options).remote(self._setup, job, threads)
        self._keys[reference] = unit.key
        return reference

    def wait(self, references: list[Any]) -> list[tuple[Any, UnitOutcome]]:
        ray = self._ray
        ready, rest = ray.wait(references, num_returns=1)
        if rest:
            # Collect every other task that has finished too, without waiting.
            ready += ray.wait(rest, num_returns=len(rest), timeout=0)[0]
        results = []
        for reference in ready:
            key = self._keys.pop(reference)
            try:
                outcome = ray.get(reference)
            except ray.exceptions.RayError as exc:
                # The task itself catches the unit's exceptions, so this is the worker or the cluster failing.
                outcome = UnitOutcome(key, error=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else exc!r}")
            results.append((reference, outcome))
        return results

    def abort(self) -> None:
        for reference in list(self._keys):
            self._ray.cancel(reference, force=True)
        self._keys.clear()

    def close(self) -> None:
        if self._started_here:
            self._ray.shutdown()
