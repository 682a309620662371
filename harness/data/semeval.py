"""Read relation-extraction files in the SemEval-2010 Task 8 layout.

One record per block, blocks separated by blank lines::

    8001<TAB>"The most common <e1>audits</e1> were about <e2>waste</e2> and recycling."
    Other
    Comment: optional, any number of comment lines

The sentence marks its two mentions with ``<e1>…</e1>`` and ``<e2>…</e2>``; the label line
holds a relation name with an optional direction, such as ``Cause-Effect(e1,e2)``, or ``Other``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from harness.errors import DataError
from harness.tasks.relation_mentions import MARKER_FIX, MarkerError, find_mentions

_SENTENCE_LINE = re.compile(r"^(\d+)\t(.*)$")
_LABEL = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*(\((e1,e2|e2,e1)\))?$")

LAYOUT_HINT = 'Each record is: a line `ID<TAB>"sentence"`, a line with the relation label, optional `Comment:` lines, then a blank line.'


@dataclass(frozen=True)
class SemEvalRecord:
    """One example: its id, the sentence with markers (quotes removed), its label and the line of its sentence."""

    record_id: str
    text: str
    label: str
    line: int


def read_semeval(path: Path) -> list[SemEvalRecord]:
    """Read every record of ``path``; raise ``DataError`` naming the file, line and fix for any bad record."""
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not a data file. Point tasks.<name>.data.path at a SemEval-style text file.")
    if not path.is_file():
        raise DataError(f"{path}: file not found. Check tasks.<name>.data.path in the suite.")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not valid UTF-8 (byte {exc.start}). Re-encode the file as UTF-8.") from None
    # Only CR, LF and CRLF end a line. str.splitlines would also break a sentence at U+2028,
    # U+0085 or a form feed, then report a missing marker and shift later line numbers.
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")

    records = []
    seen_ids: dict[str, int] = {}
    block: list[tuple[int, str]] = []
    for number, line in enumerate([*lines, ""], start=1):
        if line.strip():
            block.append((number, line.rstrip()))
            continue
        if block:
            record = _parse_block(path, block)
            if record.record_id in seen_ids:
                raise DataError(
                    f"{path}, line {record.line}: record id {record.record_id} was already used on line "
                    f"{seen_ids[record.record_id]}. Give every record its own id."
                )
            seen_ids[record.record_id] = record.line
            records.append(record)
            block = []
    if not records:
        raise DataError(f"{path}: no records found. {LAYOUT_HINT}")
    return records


def _parse_block(path: Path, block: list[tuple[int, str]]) -> SemEvalRecord:
    first_line, first = block[0]
    match = _SENTENCE_LINE.match(first)
    if match is None:
        raise DataError(f"{path}, line {first_line}: expected `ID<TAB>\"sentence\"`, got {first[:80]!r}. {LAYOUT_HINT}")
    record_id, sentence = match.group(1), match.group(2).strip()
    if len(sentence) >= 2 and sentence[0] == '"' and sentence[-1] == '"':
        sentence = sentence[1:-1]
    try:
        find_mentions(sentence)
    except MarkerError as exc:
        raise DataError(f"{path}, line {first_line}: record {record_id}: {exc}. {MARKER_FIX}") from None

    if len(block) < 2:
        raise DataError(
            f"{path}, line {first_line}: record {record_id} has no label line after its sentence. "
            "Add the relation label (such as Cause-Effect(e1,e2) or Other) on the next line."
        )
    label_line, label = block[1][0], block[1][1].strip()
    if label.lower().startswith("comment"):
        raise DataError(
            f"{path}, line {label_line}: record {record_id} has a comment where its label belongs. "
            "Put the relation label on the line right after the sentence."
        )
    if _LABEL.match(label) is None:
        raise DataError(
            f"{path}, line {label_line}: record {record_id} has the label {label[:80]!r}, which is not a relation name. "
            "Write a name with an optional direction, such as Cause-Effect(e1,e2), or Other."
        )
    for number, extra in block[2:]:
        if not extra.strip().lower().startswith("comment"):
            raise DataError(
                f"{path}, line {number}: unexpected line {extra[:80]!r} in record {record_id}. "
                "Only `Comment:` lines may follow the label; separate records with a blank line."
            )
    return SemEvalRecord(record_id, sentence, label, first_line)
