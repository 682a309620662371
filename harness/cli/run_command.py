"""``rsbench run SUITE``: validate, train, evaluate, attack, store and report."""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import logging
import os
import shlex
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from harness import catalog
from harness.errors import RsbenchError, UnitFailedError, as_storage_error
from harness.suite import MAX_PARALLELISM, ExecutorSpec, check_executor_settings, load_suite

logger = logging.getLogger(__name__)


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("run", help="run a suite end to end and write its leaderboard")
    parser.add_argument("suite", type=Path, metavar="SUITE", help="suite YAML file, e.g. suites/embedded.yaml")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: reports/<suite name>)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None, help="overrides the suite's device")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads of the run, or of each worker with --workers above 1 (default: torch's choice, "
                             "or the CPUs divided by the workers)")
    parser.add_argument("--executor", default=None, metavar="NAME",
                        help="executor from `rsbench list executors`; overrides the suite's executor section unless it names the same one")
    parser.add_argument("--workers", type=int, default=None, metavar="N", help="local executor: worker processes (default 1: in this process)")
    parser.add_argument("--address", default=None, metavar="ADDR", help="ray executor: address of a running Ray cluster, e.g. auto or ray://head:10001")
    parser.add_argument("--storage", default=None, metavar="URL",
                        help="ray executor: folder or fsspec URL for checkpoints that every worker reaches (default: the output folder)")
    parser.add_argument("--retry-failed", action="store_true", help="run again the units stored as failed (a plain rerun keeps them failed)")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    parser.set_defaults(handler=handle)


def resolve_device(choice: str) -> str:
    import torch

    if choice == "cuda" and not torch.cuda.is_available():
        raise RsbenchError("device 'cuda' requested but no CUDA GPU is available. Use --device cpu or auto.")
    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return choice


def handle(args: argparse.Namespace) -> int:
    from harness.execution.plan import build_plan
    from harness.execution.scheduler import RunInterrupted
    from harness.execution.units import RunContext
    from harness.results import RESULTS_FILE, write_leaderboard
    from harness.staging import remove_stale_staging
    from harness.store import Store
    from harness.validity.scoring import score_after_run

    suite = load_suite(args.suite)
    out_dir = args.out or Path("reports") / suite.name
    spec = executor_spec(suite.executor, args)
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    # A Ray unit's device follows its resources (CUDA when it has GPUs), not the driver's hardware.
    device = "cpu" if spec.name == "ray" else resolve_device(args.device or suite.device)
    if spec.name == "ray" and (args.device or suite.device) == "cuda" and not any(r.gpus > 0 for r in spec.resources.values()):
        logger.warning("device cuda is not used by the ray executor: units without GPUs run on the CPU. "
                       "Give units GPUs with executor.resources.train.gpus and executor.resources.attack.gpus.")
    plan = build_plan(suite)
    logger.info("suite %s: %d training units, %d attack units, device %s, output %s",
                suite.name, len(plan.train_units()), len(plan.attack_units()), device, out_dir)

    # Read every task's data before anything is written, so bad data leaves no output behind.
    probe = RunContext(suite=suite, out_dir=out_dir, store=None, device=device, progress=not args.no_progress)
    for task_name in suite.tasks:
        probe.splits(task_name)

    _check_writable(out_dir)
    try:
        with _exclusive(out_dir):
            remove_stale_staging(out_dir)
            with Store(out_dir / RESULTS_FILE) as store:
                store.set_meta("suite", suite.name)
                store.set_meta("plan_keys", json.dumps(sorted(unit.key for unit in plan.units)))
                context = RunContext(suite=suite, out_dir=out_dir, store=store, device=device,
                                     progress=not args.no_progress, _splits=probe._splits)
                executor = catalog.EXECUTORS.get(spec.name)(spec)
                summary = executor.run(plan, context, retry_failed=args.retry_failed)
                validity_report, validity_error = score_after_run(store, suite.validity, plan, device)
            json_path, html_path = write_leaderboard(out_dir, suite.name)
    except KeyboardInterrupt as exc:
        finished = len(exc.summary.computed) if isinstance(exc, RunInterrupted) else 0
        print(f"rsbench: interrupted. The running units were abandoned; the {finished} unit(s) finished in this run"
              " and every unit stored before are kept.", file=sys.stderr)
        print(f"Resume with the same command: {_command_line(args)}", file=sys.stderr)
        return 130
    not_retried = ""
    if summary.kept_failed:
        not_retried = f" ({len(summary.kept_failed)} of them failed in an earlier run and were not retried)"
    print(f"units: {len(summary.computed)} computed, {len(summary.reused)} already stored, {len(summary.failed)} failed{not_retried}")
    if validity_report is not None and validity_report.examples:
        print(f"validity: {validity_report.describe()}")
    print(f"leaderboard: {html_path.resolve()}")
    print(f"results:     {json_path.resolve()}")
    if summary.failed:
        raise UnitFailedError(
            f"{len(summary.failed)} unit(s) failed; their errors are in the leaderboard. Fix the cause, then run the same command"
            " with --retry-failed to run the failed units again (a plain rerun keeps them failed)."
        )
    if validity_error is not None:
        raise UnitFailedError(f"validity scoring failed: {validity_error} The validity columns stay empty; fix the cause and run `rsbench report {out_dir}`.")
    return 0


def executor_spec(suite_spec: ExecutorSpec, args: argparse.Namespace) -> ExecutorSpec:
    """Merge the suite's executor section with the command-line flags, which win.

    ``--executor`` naming another executor than the suite's replaces the suite's section.

    Raises:
        RsbenchError: a flag that the chosen executor does not use, or a bad value.
    """
    name = args.executor or suite_spec.name
    overrides = {field: value for field, value in (("workers", args.workers), ("address", args.address), ("storage", args.storage))
                 if value is not None}
    problems = check_executor_settings({"name": name, **overrides}, where=_FLAGS)
    if problems:
        raise RsbenchError(" ".join(problems))
    settings = suite_spec.model_dump(exclude_unset=True, exclude={"name"}) if name == suite_spec.name else {}
    settings.update(overrides)
    if args.threads is not None:
        if not 1 <= args.threads <= MAX_PARALLELISM:
            raise RsbenchError(f"--threads {args.threads}: must be between 1 and {MAX_PARALLELISM}.")
        if "threads_per_worker" in catalog.EXECUTORS.entry(name).meta("settings", ()):
            settings["threads_per_worker"] = args.threads
    try:
        return ExecutorSpec.model_validate({"name": name, **settings})
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "name"
        message = error["msg"].removeprefix("Value error, ")
        raise RsbenchError(f"{_FLAGS.get(field, field)} {error.get('input')!r}: {message}.") from None


_FLAGS = {"name": "--executor", "workers": "--workers", "address": "--address", "storage": "--storage",
          "threads_per_worker": "--threads"}


def _command_line(args: argparse.Namespace) -> str:
    argv = getattr(args, "argv", None) or ["run", str(args.suite)] + (["--out", str(args.out)] if args.out else [])
    return shlex.join(["rsbench", *argv])


@contextlib.contextmanager
def _exclusive(out_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the output folder, so two runs never train the same units at once."""
    lock_path = out_dir / ".rsbench.lock"
    try:
        handle = lock_path.open("a")
    except OSError as exc:
        storage_error = as_storage_error(exc, lock_path, "create the lock file")
        if storage_error is None:
            raise
        raise storage_error from None
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RsbenchError(
                f"--out {out_dir}: another rsbench run is using this folder. Wait for it to finish or choose another --out folder."
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _check_writable(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise RsbenchError(f"--out {out_dir}: is a file, not a folder. Choose a folder path.")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RsbenchError(f"--out {out_dir}: cannot create the folder ({exc.strerror}). Choose a writable folder.") from None
    if not os.access(out_dir, os.W_OK):
        raise RsbenchError(f"--out {out_dir}: the folder is not writable. Choose a writable folder.")
    # os.access grants root write access whatever the permission bits, so also create a file.
    try:
        with tempfile.TemporaryFile(dir=out_dir, prefix=".rsbench-probe."):
            pass
    except OSError as exc:
        raise RsbenchError(f"--out {out_dir}: the folder is not writable ({exc.strerror}). Choose a writable folder.") from None
