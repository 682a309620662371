"""Per-example attack outcomes of stored units, as kept in baselines and in ``leaderboard.json``.

Each attacked example becomes ``{"index", "text_sha256", "label", "outcome", "clean_correct",
"robust_correct"}``. The SHA-256 of the original text lets a comparison check that two runs
attacked the same examples without storing the texts again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.store import Store

OUTCOMES_FIELD = "example_outcomes"


def text_sha256(text: str) -> str:
    """Return the hex SHA-256 of ``text`` encoded as UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def example_outcome(row: Mapping[str, Any]) -> dict[str, Any]:
    """Build the outcome record of one ``attack_examples`` row.

    ``clean_correct`` is 1 when the attack was not skipped, that is when the model's output
    for the original input met the task's goal (for classification: the right class), and
    ``robust_correct`` is 1 when it still did after the attack (outcome ``failed``), so the
    mean of ``robust_correct`` over a unit's examples is its robust accuracy.
    """
    return {
        "index": int(row["idx"]),
        "text_sha256": text_sha256(row["original_text"]),
        "label": int(row["label"]),
        "outcome": row["outcome"],
        "clean_correct": int(row["outcome"] != "skipped"),
        "robust_correct": int(row["outcome"] == "failed"),
    }


def collect_example_outcomes(store: Store, keys: set[str] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Return the outcome records of every attack unit in ``store``, by unit key, ordered by index.

    ``keys`` limits them to those units; None takes every stored unit.
    """
    outcomes: dict[str, list[dict[str, Any]]] = {}
    for row in store.examples():
        if keys is not None and row["unit_key"] not in keys:
            continue
        outcomes.setdefault(row["unit_key"], []).append(example_outcome(row))
    return outcomes


def example_outcome_fields(rows: Sequence[Any], outcomes: Mapping[str, Sequence[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Map each leaderboard row's unit key to its ``example_outcomes`` field.

    Attack units get their list (empty when none are stored) and units without an attack
    get null.
    """
    return {
        row.unit_key: {OUTCOMES_FIELD: list(outcomes.get(row.unit_key, [])) if row.attack else None}
        for row in rows
    }


def write_json_atomically(path: Path, payload: Any) -> None:
    """Write ``payload`` as indented JSON to ``path`` through a temporary file and a rename."""
    text = json.dumps(payload, indent=2, allow_nan=False) + "\n"
    handle = tempfile.NamedTemporaryFile("w", encoding="utf-8", newline="\n", dir=path.parent,
                                         prefix=f".{path.name}.", suffix=".tmp", delete=False)
    temporary = Path(handle.name)
    try:
        with handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        # NamedTemporaryFile creates files readable by the owner only.
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
