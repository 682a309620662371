"""``rsbench report DIR``: render the leaderboard of a run's output folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.cli.run_command import _exclusive as exclusive_output_folder


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("report", help="write leaderboard.html and leaderboard.json from a run's results")
    parser.add_argument("out_dir", type=Path, metavar="DIR", help="output folder of `rsbench run` (contains results.sqlite)")
    parser.add_argument("--name", default=None, help="suite name shown in the report (default: the folder's name)")
    validity = parser.add_argument_group("validity", "settings default to the suite's `validity:` section of the last run")
    validity.add_argument("--fluency-model", choices=("smollm2", "none"), default=None,
                          help="causal LM that scores perplexity; 'none' skips fluency scoring and its threshold")
    validity.add_argument("--min-similarity", type=float, default=None, help="lowest USE cosine similarity of a valid attack, in [-1, 1]")
    validity.add_argument("--max-perplexity-ratio", type=float, default=None,
                          help="highest perplexity(perturbed) / perplexity(original) of a valid attack, above 0")
    validity.add_argument("--no-scoring", action="store_true",
                          help="only render stored validity scores; open the database read-only")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from harness.results import write_leaderboard
    from harness.validity.scoring import score_results_folder

    overrides = {"fluency_model": args.fluency_model, "min_similarity": args.min_similarity,
                 "max_perplexity_ratio": args.max_perplexity_ratio}
    if args.no_scoring or not args.out_dir.is_dir():
        # A missing folder is reported by score_results_folder before a lock file is created.
        validity, scored = score_results_folder(args.out_dir, overrides, scoring=False)
    else:
        with exclusive_output_folder(args.out_dir):
            validity, scored = score_results_folder(args.out_dir, overrides)
    if scored is not None and scored.examples:
        print(f"validity:    {scored.describe()}")
    json_path, html_path = write_leaderboard(args.out_dir, args.name, validity)
    print(f"leaderboard: {html_path}")
    print(f"results:     {json_path}")
    return 0
