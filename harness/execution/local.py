"""The local executor: units in dependency order, in this process or in a pool of worker processes.

With one worker, units run one after another in the rsbench process and write the store
themselves. With more, each unit runs in a spawned worker process whose torch, OpenMP and
MKL thread pools are capped, and its results come back to this process, which alone
writes the store.
"""

from __future__ import annotations

import concurrent.futures
import logging
import multiprocessing
import os
import pickle
import signal
from concurrent.futures.process import BrokenProcessPool

from harness.execution.plan import AttackUnit, Plan, TrainUnit, Unit
from harness.execution.scheduler import InProcessBackend, RunSummary, run_plan
from harness.execution.units import RunContext
from harness.execution.worker import UnitJob, UnitOutcome, WorkerSetup, execute_job, limit_threads
from harness.suite import ExecutorSpec

__all__ = ["LocalExecutor", "RunSummary", "available_cpus"]

logger = logging.getLogger(__name__)


def available_cpus() -> int:
    """Return the number of CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class LocalExecutor:
    """Runs each unit of a plan once on this machine; settings ``workers`` and ``threads_per_worker``."""

    def __init__(self, spec: ExecutorSpec | None = None):
        self.spec = spec or ExecutorSpec()

    def run(self, plan: Plan, context: RunContext, *, retry_failed: bool = False) -> RunSummary:
        workers = self.spec.workers
        if workers == 1:
            if self.spec.threads_per_worker is not None:
                limit_threads(self.spec.threads_per_worker)
            backend = InProcessBackend(context)
        else:
            threads = self.spec.threads_per_worker or max(1, available_cpus() // workers)
            if workers * threads > available_cpus():
                logger.warning("%d workers x %d threads exceed the %d CPUs available; units will compete for cores",
                               workers, threads, available_cpus())
            logger.info("local executor: %d worker processes, %d torch threads each", workers, threads)
            backend = ProcessPoolBackend(context, workers, threads)
        return run_plan(plan, context, backend, retry_failed=retry_failed,
                        artifacts_present=lambda unit: _artifacts_present(context, unit))


class ProcessPoolBackend:
    """Runs units in spawned worker processes (fork is unsafe once torch has started threads)."""

    def __init__(self, context: RunContext, workers: int, threads: int):
        self.capacity = workers
        self._context = context
        self._threads = threads
        setup = WorkerSetup(suite=context.suite, splits=context._splits, out_dir=context.out_dir, storage_url=None,
                            progress=False, log_level=logging.getLogger().getEffectiveLevel())
        # Pickled here, unpickled in the worker after its thread limits are set.
        self._payload = pickle.dumps(setup)
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._keys: dict[concurrent.futures.Future, str] = {}

    def _running_pool(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = concurrent.futures.ProcessPoolExecutor(
                max_workers=self.capacity, mp_context=multiprocessing.get_context("spawn"),
                initializer=_initialize_worker, initargs=(self._threads, self._payload),
            )
        return self._pool

    def submit(self, unit: Unit, checkpoints: dict[str, str]) -> concurrent.futures.Future:
        # submit() may spawn a worker; Ctrl-C in the middle of that would leave the new process
        # half started, printing a traceback. The signal is held back until the spawn is over,
        # and the new process inherits the blocked signal, which it ignores anyway.
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            future = self._running_pool().submit(_run_in_worker, UnitJob(unit, self._context.device, checkpoints))
            self._keys[future] = unit.key
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        return future

    def wait(self, futures: list[concurrent.futures.Future]) -> list[tuple[concurrent.futures.Future, UnitOutcome]]:
        finished, _ = concurrent.futures.wait(futures, return_when=concurrent.futures.FIRST_COMPLETED)
        results = []
        for future in finished:
            key = self._keys.pop(future)
            try:
                outcome = future.result()
            except BrokenProcessPool as exc:
                # A worker died (killed, out of memory); every unit in flight in the pool is lost.
                outcome = UnitOutcome(key, error=f"BrokenProcessPool: a worker process exited unexpectedly ({exc})")
                self._discard_pool()
            results.append((future, outcome))
        return results

    def device_of(self, unit: Unit) -> str:
        return self._context.device

    def _discard_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def abort(self) -> None:
        """Stop the workers now, abandoning their units."""
        if self._pool is None:
            return
        # ProcessPoolExecutor of Python 3.11 has no public way to stop running workers.
        # NOTE: after this, multiprocessing's resource tracker may warn at exit about a leaked
        # semaphore of the pool's queues; it removes the semaphore itself.
        for process in list((getattr(self._pool, "_processes", None) or {}).values()):
            process.terminate()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


_setup: WorkerSetup | None = None


def _initialize_worker(threads: int, payload: bytes) -> None:
    """Set up a worker process: Ctrl-C goes to the parent only, thread limits, then the shared setup."""
    global _setup
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit_threads(threads)
    _setup = pickle.loads(payload)
    from harness.logging_setup import setup_logging

    setup_logging(logging.getLevelName(_setup.log_level))


def _run_in_worker(job: UnitJob) -> UnitOutcome:
    return execute_job(_setup, job)


def _artifacts_present(context: RunContext, unit: TrainUnit | AttackUnit) -> bool:
    """Tell whether a stored training unit still has its checkpoint; attack units have no artifacts."""
    if isinstance(unit, AttackUnit):
        return True
    folder = context.stored_checkpoint(unit.key)
    if folder is not None and (folder / "model.safetensors").is_file():
        return True
    logger.warning("checkpoint of stored unit %s is missing; training it again", unit.key)
    return False
