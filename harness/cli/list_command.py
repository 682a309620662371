"""``rsbench list tasks|variants|attacks|executors``: print a registry without importing torch."""

from __future__ import annotations

import argparse

from harness import catalog

_REGISTRIES = {"tasks": catalog.TASKS, "variants": catalog.VARIANTS, "attacks": catalog.ATTACKS, "executors": catalog.EXECUTORS}


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("list", help="list tasks, variants, attacks or executors")
    parser.add_argument("what", choices=sorted(_REGISTRIES), help="which registry to print")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    entries = _REGISTRIES[args.what].entries()
    width = max(len(entry.name) for entry in entries)
    for entry in entries:
        notes = []
        if args.what == "attacks":
            if entry.meta("approximation"):
                notes.append("offline approximation")
            if not entry.meta("offline"):
                notes.append("needs internet")
        suffix = f" [{', '.join(notes)}]" if notes else ""
        print(f"{entry.name:<{width}}  {entry.description}{suffix}")
        if args.what == "tasks":
            indent = " " * (width + 2)
            print(f"{indent}variants: {', '.join(entry.meta('variants', ()))}")
            print(f"{indent}attacks:  {', '.join(entry.meta('attacks', ()))}")
    return 0
