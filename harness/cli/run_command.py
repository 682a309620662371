"""``rsbench run SUITE``: validate, train, evaluate, attack, store and report."""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from harness import catalog
from harness.errors import RsbenchError, UnitFailedError
from harness.suite import load_suite

logger = logging.getLogger(__name__)


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("run", help="run a suite end to end and write its leaderboard")
    parser.add_argument("suite", type=Path, metavar="SUITE", help="suite YAML file, e.g. suites/embedded.yaml")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: reports/<suite name>)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None, help="overrides the suite's device")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
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
    from harness.execution.units import RunContext
    from harness.results import RESULTS_FILE, write_leaderboard
    from harness.staging import remove_stale_staging
    from harness.store import Store
    from harness.validity.scoring import score_after_run

    suite = load_suite(args.suite)
    out_dir = args.out or Path("reports") / suite.name
    if args.threads is not None:
        if args.threads < 1:
            raise RsbenchError(f"--threads {args.threads}: must be at least 1.")
        import torch

        torch.set_num_threads(args.threads)
    device = resolve_device(args.device or suite.device)
    plan = build_plan(suite)
    logger.info("suite %s: %d training units, %d attack units, device %s, output %s",
                suite.name, len(plan.train_units()), len(plan.attack_units()), device, out_dir)

    # Read every task's data before anything is written, so bad data leaves no output behind.
    probe = RunContext(suite=suite, out_dir=out_dir, store=None, device=device, progress=not args.no_progress)
    for task_name in suite.tasks:
        probe.splits(task_name)

    _check_writable(out_dir)
    with _exclusive(out_dir):
        remove_stale_staging(out_dir)
        with Store(out_dir / RESULTS_FILE) as store:
            store.set_meta("suite", suite.name)
            store.set_meta("plan_keys", json.dumps(sorted(unit.key for unit in plan.units)))
            context = RunContext(suite=suite, out_dir=out_dir, store=store, device=device,
                                 progress=not args.no_progress, _splits=probe._splits)
            executor = catalog.EXECUTORS.get(suite.executor)()
            summary = executor.run(plan, context)
            validity_report, validity_error = score_after_run(store, suite.validity, plan, device)
        json_path, html_path = write_leaderboard(out_dir, suite.name)
    print(f"units: {len(summary.computed)} computed, {len(summary.reused)} already stored, {len(summary.failed)} failed")
    if validity_report is not None and validity_report.examples:
        print(f"validity: {validity_report.describe()}")
    print(f"leaderboard: {html_path.resolve()}")
    print(f"results:     {json_path.resolve()}")
    if summary.failed:
        raise UnitFailedError(f"{len(summary.failed)} unit(s) failed; their errors are in the leaderboard. Fix the cause and rerun to retry them.")
    if validity_error is not None:
        raise UnitFailedError(f"validity scoring failed: {validity_error} The validity columns stay empty; fix the cause and run `rsbench report {out_dir}`.")
    return 0


@contextlib.contextmanager
def _exclusive(out_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the output folder, so two runs never train the same units at once."""
    lock_path = out_dir / ".rsbench.lock"
    with lock_path.open("a") as handle:
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
