"""Atomic replacement of output folders, and removal of what an interrupted run left behind.

Writers stage their output under a name that starts with a dot: ``.<name>.<random>`` for
checkpoints, ``.<name>.<random>.tmp`` for leaderboard files. They flush it to disk and
rename it into place, so a reader sees the old version or the new one, never a
half-written one.
A process killed before the rename leaves its staging entry behind; the next run removes
it while it holds the output folder's lock.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

logger = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
# Suffix of a checkpoint folder moved aside while its replacement is renamed into place.
_ASIDE = ".old"


def fsync_tree(folder: Path) -> None:
    """Flush every file under ``folder``, and the folder itself, to disk."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
    fsync_folder(folder)


def fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (new and renamed names) to disk."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def replace_folder(staging: Path, folder: Path) -> None:
    """Rename ``staging`` to ``folder``, replacing an existing ``folder``.

    An existing folder is first renamed aside and deleted after the new one is in place, so
    ``folder`` is never a half-deleted mix of old and new files.
    """
    aside = None
    if folder.exists():
        aside = folder.with_name(f".{folder.name}{_ASIDE}")
        if aside.exists():
            shutil.rmtree(aside)
        os.replace(folder, aside)
    os.replace(staging, folder)
    fsync_folder(folder.parent)
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


def remove_stale_staging(out_dir: Path) -> list[Path]:
    """Delete staging files and folders an interrupted run left in ``out_dir``; returns what was removed.

    Call it only while holding the output folder's lock: a running writer's staging entry
    looks the same as a stale one.
    """
    candidates = [path for path in out_dir.glob(".leaderboard.*.tmp") if path.is_file()]
    checkpoints = out_dir / CHECKPOINTS
    if checkpoints.is_dir():
        candidates += [path for path in checkpoints.iterdir() if path.name.startswith(".")]
    for path in candidates:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        logger.info("removed %s, left by an interrupted run", path)
    return candidates
