"""``rsbench compare RUN_DIR --baseline FILE``: gate a run on regressions against a baseline."""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.errors import RsbenchError


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "compare", help="compare a run with a baseline; exit 1 when a metric regressed",
        description="Compare a run with a baseline unit by unit. Exit status: 0 no regression, 1 a metric regressed, 2 bad input.",
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="output folder of `rsbench run` (contains results.sqlite)")
    parser.add_argument("--baseline", type=Path, required=True, metavar="FILE",
                        help="a file written by `rsbench baseline`, or a leaderboard.json of an earlier run")
    parser.add_argument("--suite", type=Path, default=None, metavar="SUITE", help="suite YAML whose `gate:` section sets tolerances")
    parser.add_argument("--tolerance", action="append", default=[], metavar="METRIC=VALUE",
                        help="allowed drop of a metric, absolute (robust_accuracy=0.02) or relative to the baseline "
                             "(robust_accuracy=5%%); repeatable; overrides the suite (default 0.02 for every metric)")
    parser.add_argument("--confidence", type=float, default=None, help="confidence level of the paired intervals (default 0.95)")
    parser.add_argument("--resamples", type=int, default=None, help="bootstrap resamples per interval (default 9999)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the bootstrap resampling (default 0)")
    parser.add_argument("--markdown", type=Path, default=None, metavar="FILE", help="write a Markdown summary, e.g. for $GITHUB_STEP_SUMMARY")
    parser.add_argument("--junit", type=Path, default=None, metavar="FILE", help="write JUnit XML, one testcase per unit")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="write the whole comparison as JSON")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from harness.gate.compare import compare_snapshots
    from harness.gate.document import load_snapshot_file, snapshot_from_run
    from harness.gate.document import RESULTS_FILE
    from harness.gate.outputs import check_output_paths, render_json, render_junit, render_markdown, render_table, write_output

    check_output_paths(
        {"--markdown": args.markdown, "--junit": args.junit, "--json": args.json},
        {"the results database of the run": args.run_dir / RESULTS_FILE, "the --baseline file": args.baseline,
         "the --suite file": args.suite},
    )
    settings = gate_settings(args)
    baseline = load_snapshot_file(args.baseline)
    current = snapshot_from_run(args.run_dir)
    comparison = compare_snapshots(baseline, current, settings)
    print(render_table(comparison), end="")
    if args.markdown is not None:
        write_output(args.markdown, render_markdown(comparison), "--markdown")
    if args.junit is not None:
        write_output(args.junit, render_junit(comparison), "--junit")
    if args.json is not None:
        write_output(args.json, render_json(comparison), "--json")
    return 0 if comparison.passed else 1


def gate_settings(args: argparse.Namespace):
    """Merge the suite's `gate:` section with the command-line options, which take precedence.

    Raises:
        RsbenchError: an invalid --tolerance, --confidence, --resamples or --seed value, or an invalid suite.
    """
    from harness.gate.compare import GateSettings
    from harness.gate.tolerance import parse_tolerance, parse_tolerance_option

    tolerances = {}
    confidence, resamples, seed = GateSettings.confidence, GateSettings.resamples, GateSettings.seed
    if args.suite is not None:
        from harness.suite import load_suite

        gate = load_suite(args.suite).gate
        tolerances = {metric: parse_tolerance(value) for metric, value in gate.tolerances.items()}
        confidence, resamples, seed = gate.confidence, gate.resamples, gate.seed
    for option in args.tolerance:
        try:
            metric, tolerance = parse_tolerance_option(option)
        except ValueError as exc:
            raise RsbenchError(f"--tolerance {option}: {exc}") from None
        tolerances[metric] = tolerance
    if args.confidence is not None:
        if not 0 < args.confidence < 1:
            raise RsbenchError(f"--confidence {args.confidence}: must lie between 0 and 1, such as 0.95.")
        confidence = args.confidence
    if args.resamples is not None:
        if not 100 <= args.resamples <= 1_000_000:
            raise RsbenchError(f"--resamples {args.resamples}: must be between 100 and 1000000; the default is 9999.")
        resamples = args.resamples
    if args.seed is not None:
        if not 0 <= args.seed <= 2**32 - 1:
            raise RsbenchError(f"--seed {args.seed}: must be between 0 and 4294967295; the default is 0.")
        seed = args.seed
    return GateSettings(tolerances=tolerances, confidence=confidence, resamples=resamples, seed=seed)
