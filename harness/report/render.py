"""Render the leaderboard of a suite as ``leaderboard.json`` and a self-contained ``leaderboard.html``."""

from __future__ import annotations

import base64
import collections
import dataclasses
import datetime as dt
import enum
import functools
import hashlib
import importlib.resources
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any

import jinja2
from markupsafe import Markup

from harness.faults import fault_point
from harness.report.analysis import Analysis, analyse
from harness.report.navigation import build_example_tables, filter_options, format_interval, format_points
from harness.report.plot import plot_clean_vs_robust
from harness.report.rows import ExampleView, LeaderboardRow
from harness.report.task_tables import build_task_tables
from harness.report.views import (
    build_pivot,
    build_sample_sections,
    build_unit_entries,
    finite_or_none,
    manifest_items,
    unit_sort_key,
    visible_text,
)

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
JSON_NAME = "leaderboard.json"
HTML_NAME = "leaderboard.html"
_TEMPLATE_NAME = "leaderboard.html.j2"
_SORTER_NAME = "sorter.js"
_FILTER_NAME = "filter.js"
_EMPTY_CELL = "–"


def render_leaderboard(
    out_dir: Path,
    *,
    suite_name: str,
    rows: Sequence[LeaderboardRow],
    examples: Sequence[ExampleView],
    manifest: Mapping[str, Any],
    samples_per_unit: int = 5,
    generated_at: dt.datetime | None = None,
    unit_fields: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[Path, Path]:
    """Write ``leaderboard.json`` and ``leaderboard.html`` into ``out_dir`` and return their paths.

    Both files are first written to temporary files in ``out_dir`` and then renamed into
    place, so a failure while rendering or writing leaves any earlier leaderboard intact. ``generated_at`` defaults to
    the current UTC time; pass it to make the output reproducible. ``unit_fields`` maps a
    unit key to extra fields of that unit in ``leaderboard.json``.

    Raises:
        ValueError: ``samples_per_unit`` is negative, two rows share a ``unit_key``, or the
            manifest contains a value that JSON cannot represent.
    """
    if samples_per_unit < 0:
        raise ValueError(f"samples_per_unit must be 0 or more, got {samples_per_unit}")
    _check_unique_keys(rows)
    ordered = sorted(rows, key=unit_sort_key)
    timestamp = (generated_at or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds")

    analysis = analyse(ordered, examples)
    json_text = leaderboard_json(suite_name, timestamp, manifest, ordered, sections=analysis.to_json(),
                                 unit_fields=unit_fields)
    template = _environment().get_template(_TEMPLATE_NAME)
    context = _html_context(suite_name, timestamp, ordered, examples, manifest, samples_per_unit)
    context.update(_analysis_context(analysis, ordered, examples))

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / JSON_NAME
    html_path = out_dir / HTML_NAME
    staged: list[Path] = []
    try:
        staged.append(_write_temporary(json_path, [json_text]))
        staged.append(_write_temporary(html_path, template.generate(**context)))
        fault_point("report.staged")
        # NOTE: each rename is atomic but the pair is not: if the second rename fails, the
        # new JSON sits next to the old HTML.
        for temporary, final in zip(staged, (json_path, html_path)):
            os.replace(temporary, final)
    except BaseException:
        for temporary in staged:
            temporary.unlink(missing_ok=True)
        raise
    logger.info("Wrote %s and %s (%d units)", json_path, html_path, len(ordered))
    return json_path, html_path


def leaderboard_json(
    suite_name: str, generated_at: str, manifest: Mapping[str, Any],
    rows: Sequence[LeaderboardRow], sections: Mapping[str, Any] | None = None,
    unit_fields: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    """Serialize the leaderboard as JSON text, one unit object per row in the given order.

    Every ``LeaderboardRow`` field appears in each unit; None and non-finite floats become
    null, because JSON has no NaN or infinity. ``sections`` adds top-level entries after
    ``units`` (the analysis: methods, unit intervals, aggregates, comparisons).
    ``unit_fields`` adds fields to the unit with that key, after the row's own fields.

    Raises:
        ValueError: a section repeats a top-level key.
    """
    payload = {
        "schema_version": SCHEMA_VERSION,
        "suite": suite_name,
        "generated_at": generated_at,
        "manifest": _to_json_value(manifest, "manifest"),
        "units": [
            {name: _to_json_value(value, name) if isinstance(value, Mapping) else finite_or_none(value)
             for name, value in dataclasses.asdict(row).items()}
            for row in rows
        ],
    }
    for unit in payload["units"]:
        extra = (unit_fields or {}).get(unit["unit_key"], {})
        unit.update(_to_json_value(extra, f"unit_fields[{unit['unit_key']!r}]"))
    for name, value in (sections or {}).items():
        if name in payload:
            raise ValueError(f"leaderboard JSON section {name!r} repeats a top-level key; rename the section")
        payload[name] = _to_json_value(value, name)
    return json.dumps(payload, indent=2, allow_nan=False) + "\n"


def _check_unique_keys(rows: Sequence[LeaderboardRow]) -> None:
    counts = collections.Counter(row.unit_key for row in rows)
    duplicates = sorted(key for key, count in counts.items() if count > 1)
    if duplicates:
        raise ValueError(f"each unit needs one row, but these unit keys repeat: {duplicates}")


def _to_json_value(value: Any, where: str) -> Any:
    if isinstance(value, Mapping):
        return {str(key): _to_json_value(item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json_value(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        return sorted(_to_json_value(item, where) for item in value)
    if isinstance(value, enum.Enum):
        return _to_json_value(value.value, where)
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        return finite_or_none(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    raise ValueError(f"{where}: a value of type {type(value).__name__} cannot be written as "
                     "JSON; convert it to a string, number, list or mapping")


def _analysis_context(analysis: Analysis, rows: Sequence[LeaderboardRow],
                      examples: Sequence[ExampleView]) -> dict[str, Any]:
    filter_js = _inline_script(_FILTER_NAME)
    return {
        "analysis": analysis,
        "filters": filter_options(rows),
        "example_tables": build_example_tables(rows, examples),
        "filter_js": filter_js,
        "filter_hash": _csp_hash(filter_js),
    }


def _html_context(
    suite_name: str, generated_at: str, rows: Sequence[LeaderboardRow],
    examples: Sequence[ExampleView], manifest: Mapping[str, Any], samples_per_unit: int,
) -> dict[str, Any]:
    sorter_js = _sorter_script()
    return {
        "suite_name": suite_name,
        "generated_at": generated_at,
        "units": build_unit_entries(rows),
        "failed": [row for row in rows if row.status == "failed"],
        "generated_datasets": sorted({(row.task, row.dataset) for row in rows if row.dataset_generated}),
        "plot_svg": plot_clean_vs_robust(rows),
        "pivot": build_pivot(rows),
        "task_tables": build_task_tables(rows),
        "sections": build_sample_sections(rows, examples, samples_per_unit),
        "samples_per_unit": samples_per_unit,
        "manifest": manifest_items(manifest),
        "validity_thresholds": manifest.get("validity_thresholds"),
        "sorter_js": sorter_js,
        "script_hash": _csp_hash(sorter_js),
    }


@functools.cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        trim_blocks=False,
        lstrip_blocks=False,
    )
    environment.filters["percent"] = _format_percent
    environment.filters["number"] = _format_number
    environment.filters["mebibytes"] = _format_mebibytes
    environment.filters["sort_value"] = _sort_value
    environment.filters["interval"] = format_interval
    environment.filters["points"] = format_points
    return environment


def _finalize(value: Any) -> Any:
    # Runs on every {{ }} output before escaping. Markup is the renderer's own checked HTML.
    if isinstance(value, str) and not isinstance(value, Markup):
        return visible_text(value)
    return value


def _format_percent(value: float | None) -> str:
    value = finite_or_none(value)
    return _EMPTY_CELL if value is None else f"{value * 100:.1f}%"


def _format_number(value: float | int | None, digits: int) -> str:
    value = finite_or_none(value)
    return _EMPTY_CELL if value is None else f"{value:,.{digits}f}"


def _format_mebibytes(value: int | None) -> str:
    return _EMPTY_CELL if value is None else f"{value / 2**20:,.0f}"


def _sort_value(value: float | int | None) -> str:
    # The table sorter reads this attribute, so it contains the exact value, not the rounded text.
    value = finite_or_none(value)
    return "" if value is None else repr(value)


def _sorter_script() -> Markup:
    return _inline_script(_SORTER_NAME)


@functools.cache
def _inline_script(name: str) -> Markup:
    source = importlib.resources.files("harness.report").joinpath("templates", name)
    script = source.read_text(encoding="utf-8")
    if "</script" in script.lower() or "<!--" in script:
        raise ValueError(f"{name} must not contain '</script' or '<!--': it is inlined")
    return Markup(script)


def _csp_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def _write_temporary(final: Path, chunks: Iterable[str]) -> Path:
    """Write ``chunks`` to a new temporary file next to ``final`` and return its path.

    The temporary file is removed if writing fails.
    """
    handle = tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", errors="replace", newline="\n", dir=final.parent,
        prefix=f".{final.name}.", suffix=".tmp", delete=False,
    )
    path = Path(handle.name)
    try:
        with handle:
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        # NamedTemporaryFile creates files readable by the owner only.
        os.chmod(path, 0o644)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path
