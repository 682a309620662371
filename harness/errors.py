"""Error types that the command line turns into messages and exit statuses."""

from __future__ import annotations

import errno
import os
import re
import sqlite3
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


class StorageError(RsbenchError):
    """Output that cannot be written (full disk, read-only or inaccessible folder); it stops the run."""


# errno values that mean the output cannot be written, with the fix for each.
_STORAGE_FIXES = {
    errno.ENOSPC: "free disk space",
    errno.EDQUOT: "free disk space or raise the quota",
    errno.EFBIG: "raise the file size limit (ulimit -f) or free disk space",
    errno.EROFS: "use a writable --out folder",
    errno.EACCES: "fix the folder's permissions or use another --out folder",
    errno.EPERM: "fix the folder's permissions or use another --out folder",
}
_OS_ERROR_IN_MESSAGE = re.compile(r"os error (\d+)")


def storage_errno(exc: BaseException) -> int | None:
    """Return the errno of a write failure that means the output cannot be written, else None.

    Recognises ``OSError``, SQLite's full, I/O, read-only and cannot-open errors, and
    errors of libraries that put ``(os error N)`` in their message, as safetensors does.
    """
    if isinstance(exc, OSError) and exc.errno in _STORAGE_FIXES:
        return exc.errno
    if isinstance(exc, sqlite3.OperationalError):
        name = getattr(exc, "sqlite_errorname", "") or ""
        if name == "SQLITE_FULL":
            return errno.ENOSPC
        if name.startswith("SQLITE_READONLY"):
            return errno.EROFS
        if name.startswith(("SQLITE_IOERR", "SQLITE_CANTOPEN", "SQLITE_PERM")):
            return errno.EIO
        return None
    match = _OS_ERROR_IN_MESSAGE.search(str(exc))
    if match and int(match.group(1)) in _STORAGE_FIXES:
        return int(match.group(1))
    return None


def as_storage_error(exc: BaseException, path: object, action: str) -> StorageError | None:
    """Turn a write failure into a :class:`StorageError` that names ``path``, or return None for other errors."""
    if isinstance(exc, StorageError):
        return exc
    number = storage_errno(exc)
    if number is None:
        return None
    reason = os.strerror(number)
    fix = _STORAGE_FIXES.get(number, "check the disk and the folder's permissions")
    return StorageError(
        f"{path}: cannot {action} ({reason}: {exc}). Results stored so far are intact; {fix}, then rerun the same command to resume."
    )
