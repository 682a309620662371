"""Entry point of the ``rsbench`` command."""

from __future__ import annotations

import argparse
import logging
import sys

from harness import __version__
from harness.cli import baseline_command, compare_command, list_command, report_command, run_command
from harness.errors import RsbenchError
from harness.logging_setup import setup_logging

logger = logging.getLogger("harness")

_SUBCOMMANDS = (run_command, report_command, list_command, baseline_command, compare_command)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rsbench", description="Train NLP models with robustness methods, attack them, compare.")
    parser.add_argument("--version", action="version", version=f"rsbench {__version__}")
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING or ERROR (default: $RSBENCH_LOG_LEVEL or INFO)")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _SUBCOMMANDS:
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    setup_logging(args.log_level)
    try:
        return int(args.handler(args) or 0)
    except RsbenchError as exc:
        print(f"rsbench: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("rsbench: interrupted. Finished units are stored; rerun the same command to resume.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
