"""Outputs of a comparison: a terminal table, Markdown for a CI job page, JUnit XML and JSON."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from harness.errors import RsbenchError
from harness.gate.compare import Comparison, MetricResult, UnitResult
from harness.report.views import visible_text

_EMPTY = "-"
# Characters that XML 1.0 does not allow, even escaped: most C0 controls, surrogates, U+FFFE and U+FFFF.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Characters with a meaning inside GitHub-flavoured Markdown text and table cells. Characters
# that matter only at the start of a line (#, +, -) never start one in these outputs.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]|~])")


def summary_line(comparison: Comparison) -> str:
    regressed = comparison.regressed_units
    if not regressed:
        return f"PASSED: no regression in {len(comparison.units)} unit(s) of suite {comparison.suite}."
    metrics = sum(1 for unit in regressed for result in unit.metrics if result.regressed)
    return (f"FAILED: {len(regressed)} of {len(comparison.units)} unit(s) of suite {comparison.suite} regressed "
            f"({metrics} metric(s)).")


def format_value(value: float | None) -> str:
    return _EMPTY if value is None else f"{value:.3f}"


def format_change(value: float | None) -> str:
    return _EMPTY if value is None else f"{value:+.3f}"


def format_interval(result: MetricResult) -> str:
    if result.interval is None:
        return "tolerance only" if result.basis.startswith("tolerance only") else _EMPTY
    return f"[{result.interval.low:+.3f}, {result.interval.high:+.3f}]"


def format_direction(result: MetricResult) -> str:
    return "higher is better" if result.higher_is_better else "lower is better"


def unit_notes(unit: UnitResult) -> list[str]:
    """List what a reader of any output needs besides the metric rows: key changes and unit problems."""
    notes = list(unit.problems)
    if not unit.keys_match:
        notes.append(f"unit keys differ (baseline {unit.baseline_key}, run {unit.current_key}): a setting of this unit changed")
    if unit.dataset != unit.baseline_dataset:
        notes.append(f"data sets differ (baseline {unit.baseline_dataset}, run {unit.dataset}): clean metrics cover other test examples")
    return notes


# Terminal


def render_table(comparison: Comparison) -> str:
    """Render the comparison as plain-text tables, one per unit, with the method and a summary line."""
    lines = [f"rsbench compare: run {comparison.current_source} against baseline {comparison.baseline_source}",
             f"Method: {comparison.settings.method()}", ""]
    # Stored names and errors are arbitrary text, so their escape sequences must not reach the terminal.
    header = ("metric", "direction", "baseline", "run", "change", "tolerance", "interval of change", "verdict")
    for unit in comparison.units:
        status = "REGRESSED" if unit.regressed else "ok"
        lines.append(f"{visible_text(unit.label)}  [{status}]  unit keys {'match' if unit.keys_match else 'differ'}")
        lines += [f"  note: {visible_text(note)}" for note in unit_notes(unit)]
        rows = [header] + [
            (result.metric, format_direction(result), format_value(result.baseline), format_value(result.current),
             format_change(result.change), result.tolerance, format_interval(result), result.verdict)
            for result in unit.metrics
        ]
        widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
        for row in rows:
            lines.append("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
        lines.append("")
    lines.append(summary_line(comparison))
    return "\n".join(lines) + "\n"


# Markdown


def escape_markdown(text: str) -> str:
    """Escape ``text`` for GitHub-flavoured Markdown: HTML characters as entities, Markdown characters with a backslash."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    # A line break would end a table row; Markdown has no escape for it inside a cell.
    return " ".join(text.split())


def render_markdown(comparison: Comparison) -> str:
    """Render the comparison as Markdown for a CI job page such as ``$GITHUB_STEP_SUMMARY``."""
    esc = escape_markdown
    icon = "✅" if comparison.passed else "❌"
    lines = [
        f"## {icon} Robustness gate: {esc(comparison.suite)}",
        "",
        f"**{esc(summary_line(comparison))}**",
        "",
        f"Run {esc(comparison.current_source)} against baseline {esc(comparison.baseline_source)}.",
        "",
        f"Method: {esc(comparison.settings.method())}",
        "",
        "| unit | metric | direction | baseline | run | change | tolerance | interval of change | verdict |",
        "|---|---|---|---:|---:|---:|---:|---|---|",
    ]
    for unit in comparison.units:
        for result in unit.metrics:
            verdict = f"**{esc(result.verdict)}**" if result.regressed else esc(result.verdict)
            lines.append(
                f"| {esc(unit.label)} | {esc(result.metric)} | {esc(format_direction(result))} | {format_value(result.baseline)} "
                f"| {format_value(result.current)} | {esc(format_change(result.change))} | {esc(result.tolerance)} "
                f"| {esc(format_interval(result))} | {verdict} |"
            )
    notes = [(unit, note) for unit in comparison.units for note in unit_notes(unit)]
    if notes:
        lines += ["", "Notes:", ""]
        lines += [f"- {esc(unit.label)}: {esc(note)}" for unit, note in notes]
    return "\n".join(lines) + "\n"


# JUnit XML


def _xml_text(text: str) -> str:
    # ElementTree escapes &, < and > (and quotes in attributes) but writes characters that
    # XML 1.0 forbids as they are, which makes the file unparsable.
    return _XML_INVALID.sub("\ufffd", text)


def _metric_line(result: MetricResult) -> str:
    interval = f"{format_interval(result)} from {result.basis}" if result.interval is not None else result.basis
    return (f"{result.metric} ({format_direction(result)}): baseline {format_value(result.baseline)}, "
            f"run {format_value(result.current)}, change {format_change(result.change)}, tolerance {result.tolerance}, "
            f"interval of change {interval}: {result.verdict}")


def render_junit(comparison: Comparison) -> bytes:
    """Render the comparison as JUnit XML: one testcase per unit, failed when any of its metrics regressed."""
    failures = len(comparison.regressed_units)
    suites = ET.Element("testsuites", name="rsbench robustness gate", tests=str(len(comparison.units)), failures=str(failures))
    suite = ET.SubElement(suites, "testsuite", name=_xml_text(f"robustness gate: {comparison.suite}"),
                          tests=str(len(comparison.units)), failures=str(failures), errors="0", skipped="0")
    properties = ET.SubElement(suite, "properties")
    settings = comparison.settings
    for name, value in (("baseline", comparison.baseline_source), ("run", comparison.current_source),
                        ("method", settings.method()), ("confidence", str(settings.confidence)),
                        ("resamples", str(settings.resamples)), ("seed", str(settings.seed))):
        ET.SubElement(properties, "property", name=name, value=_xml_text(value))
    for unit in comparison.units:
        case = ET.SubElement(suite, "testcase", classname=_xml_text(f"rsbench.{comparison.suite}.{unit.task}"),
                             name=_xml_text(unit.label))
        details = unit_notes(unit) + [_metric_line(result) for result in unit.metrics]
        if unit.regressed:
            reasons = list(unit.problems) + [f"{result.metric} {result.verdict}" for result in unit.metrics if result.regressed]
            failure = ET.SubElement(case, "failure", message=_xml_text("; ".join(reasons)), type="regression")
            failure.text = _xml_text("\n".join(details))
        output = ET.SubElement(case, "system-out")
        output.text = _xml_text("\n".join(details + [f"Method: {settings.method()}"]))
    ET.indent(suites)
    return ET.tostring(suites, encoding="utf-8", xml_declaration=True) + b"\n"


# JSON


def render_json(comparison: Comparison) -> str:
    return json.dumps(comparison.to_dict(), indent=2, allow_nan=False) + "\n"


def write_output(path: Path, content: str | bytes, option: str) -> None:
    """Write one output file, creating its folder.

    Raises:
        RsbenchError: naming the option and the path, when the file cannot be written.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    except OSError as exc:
        raise RsbenchError(f"{option} {path}: cannot write the file ({exc.strerror or exc}). Choose a writable path.") from None


def check_output_paths(outputs: dict[str, Path | None], inputs: dict[str, Path | None]) -> None:
    """Check that no output file would overwrite an input file or another output.

    ``outputs`` and ``inputs`` map an option or a description, such as ``--junit`` or
    ``the results database``, to its path (None when not given).

    Raises:
        RsbenchError: naming both paths, when an output is an input file or two outputs are one file.
    """
    seen: dict[Path, str] = {}
    for description, path in inputs.items():
        if path is not None:
            seen[Path(path).resolve()] = description
    for option, path in outputs.items():
        if path is None:
            continue
        resolved = Path(path).resolve()
        if resolved in seen:
            raise RsbenchError(
                f"{option} {path}: is {seen[resolved]}, which this command would overwrite. Choose another output file."
            )
        seen[resolved] = f"the output of {option}"
