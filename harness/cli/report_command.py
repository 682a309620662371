"""``rsbench report DIR``: render the leaderboard of a run's output folder."""

from __future__ import annotations

import argparse
from pathlib import Path




def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("report", help="write leaderboard.html and leaderboard.json from a run's results")
    parser.add_argument("out_dir", type=Path, metavar="DIR", help="output folder of `rsbench run` (contains results.sqlite)")
    parser.add_argument("--name", default=None, help="suite name shown in the report (default: the folder's name)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from harness.results import write_leaderboard

    json_path, html_path = write_leaderboard(args.out_dir, args.name)
    print(f"leaderboard: {html_path}")
    print(f"results:     {json_path}")
    return 0
