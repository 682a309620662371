"""Named fault-injection points: a testing aid that kills the process at a chosen place.

Set ``RSBENCH_FAULT=<point>`` or ``RSBENCH_FAULT=<point>:<n>`` and the process sends
itself SIGKILL the n-th time (default: the first time) it reaches ``fault_point(<point>)``.
``RSBENCH_FAULT_SIGNAL`` names another signal, such as ``SIGSTOP`` to freeze the process
at that place. Without ``RSBENCH_FAULT``, ``fault_point`` only reads a cached setting and
returns. The crash tests use it to stop ``rsbench run`` at exact places; it is not meant
for production runs.

Points (``POINTS``):

- ``train.step``: after an optimizer step of the training loop.
- ``train.epoch_end``: after a training epoch, before the next one starts.
- ``attack.example``: after one example of an attack.
- ``checkpoint.staged``: after a checkpoint is written to its staging folder, before the rename.
- ``store.write``: inside the transaction that stores a unit, after its ``units`` row and before its metric rows.
- ``report.staged``: after the leaderboard files are written to temporary files, before the renames.
"""

from __future__ import annotations

import os
import signal
import sys
from functools import lru_cache

ENVIRONMENT_VARIABLE = "RSBENCH_FAULT"
SIGNAL_VARIABLE = "RSBENCH_FAULT_SIGNAL"
POINTS = ("train.step", "train.epoch_end", "attack.example", "checkpoint.staged", "store.write", "report.staged")

_hits: dict[str, int] = {}


@lru_cache(maxsize=1)
def _configured() -> tuple[str, int, signal.Signals] | None:
    setting = os.environ.get(ENVIRONMENT_VARIABLE)
    if not setting:
        return None
    point, _, count = setting.partition(":")
    if point not in POINTS:
        raise ValueError(f"{ENVIRONMENT_VARIABLE}={setting!r}: unknown point {point!r}. Known points: {', '.join(POINTS)}.")
    try:
        nth = int(count) if count else 1
    except ValueError:
        raise ValueError(f"{ENVIRONMENT_VARIABLE}={setting!r}: the hit count {count!r} is not an integer.") from None
    if nth < 1:
        raise ValueError(f"{ENVIRONMENT_VARIABLE}={setting!r}: the hit count must be 1 or more.")
    signal_name = os.environ.get(SIGNAL_VARIABLE) or "SIGKILL"
    try:
        chosen = signal.Signals[signal_name]
    except KeyError:
        raise ValueError(f"{SIGNAL_VARIABLE}={signal_name!r}: not a signal name such as SIGKILL or SIGSTOP.") from None
    return point, nth, chosen


def fault_point(name: str) -> None:
    """Send this process SIGKILL (or ``RSBENCH_FAULT_SIGNAL``) if ``RSBENCH_FAULT`` selects ``name`` and this is its n-th hit."""
    configured = _configured()
    if configured is None or configured[0] != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] == configured[1]:
        print(f"rsbench: {ENVIRONMENT_VARIABLE}: sending {configured[2].name} to process {os.getpid()} at {name} (hit {_hits[name]})",
              file=sys.stderr, flush=True)
        os.kill(os.getpid(), configured[2])
