"""``rsbench baseline RUN_DIR -o FILE``: write a run's units, metrics and example outcomes as a baseline."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("baseline", help="write a baseline of a run for `rsbench compare`")
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="output folder of `rsbench run` (contains results.sqlite)")
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="FILE", help="baseline JSON file to write")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from harness.gate.document import write_baseline

    snapshot = write_baseline(args.run_dir, args.output)
    examples = sum(len(unit.example_outcomes or ()) for unit in snapshot.units)
    print(f"baseline: {args.output} (suite {snapshot.suite}, {len(snapshot.units)} units, {examples} attacked examples)")
    return 0
