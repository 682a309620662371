"""Word-level diff of an original text and its adversarial version, for display."""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class Segment:
    """A run of words separated by single spaces; ``changed`` marks words the attack touched."""

    text: str
    changed: bool


def diff_words(original: str, perturbed: str) -> tuple[list[Segment], list[Segment]]:
    """Split both texts on whitespace and mark the words that differ between them.

    Returns the segments of the original text, where ``changed`` marks deleted or replaced
    words, and those of the perturbed text, where it marks inserted or replacing words.
    Runs of whitespace are shown as one space.
    """
    original_words = original.split()
    perturbed_words = perturbed.split()
    # autojunk is off because it treats frequent words as junk in texts of 200 words or
    # more, and then marks unchanged words such as "the" as changed.
    matcher = difflib.SequenceMatcher(a=original_words, b=perturbed_words, autojunk=False)

    original_segments: list[Segment] = []
    perturbed_segments: list[Segment] = []
    for tag, a_start, a_end, b_start, b_end in matcher.get_opcodes():
        changed = tag != "equal"
        _append(original_segments, original_words[a_start:a_end], changed)
        _append(perturbed_segments, perturbed_words[b_start:b_end], changed)
    return original_segments, perturbed_segments


def _append(segments: list[Segment], words: list[str], changed: bool) -> None:
    if not words:
        return
    text = " ".join(words)
    if segments and segments[-1].changed == changed:
        # One side of an insert or a delete is empty, so the equal runs around it meet.
        segments[-1] = Segment(segments[-1].text + " " + text, changed)
    else:
        segments.append(Segment(text, changed))
