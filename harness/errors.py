"""Error types that the command line turns into messages and exit statuses."""

from __future__ import annotations

from collections.abc import Sequence


class RsbenchError(Exception):
    """An error caused by user input: the CLI prints the message and exits with ``exit_code``."""

    exit_code = 2


class SuiteError(RsbenchError):
    """A suite with one or more problems, each naming the field, the bad value and the fix."""

    def __init__(self, source: str, problems: Sequence[str]):
        self.source = source
        self.problems = list(problems)
        lines = [f"{source}: {len(self.problems)} problem(s) found, nothing was run:"]
        lines += [f"  - {problem}" for problem in self.problems]
        super().__init__("\n".join(lines))


class DataError(RsbenchError):
    """Data that cannot be used: a missing file or column, an empty text, a bad label."""


class UnitFailedError(RsbenchError):
    """One or more units of a run failed; the results of the others are stored."""

    exit_code = 1
