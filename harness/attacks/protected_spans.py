"""A TextAttack pre-transformation constraint that keeps the entity mentions of relation texts unchanged."""

from __future__ import annotations

from typing import Any

from harness.attacks.resources import import_textattack
from harness.tasks.relation_mentions import MarkerError, find_mentions

textattack = import_textattack()

from textattack.constraints import PreTransformationConstraint  # noqa: E402


def word_offsets(text: str, words: list[str]) -> list[tuple[int, int]]:
    """Return the character range of each word of an ``AttackedText`` in its text.

    Words are searched left to right from the end of the previous word, the same walk that
    ``AttackedText.generate_new_attacked_text`` makes when it swaps words, so a range here
    is the range that a swap of that word rewrites.
    """
    offsets = []
    cursor = 0
    for word in words:
        start = text.index(word, cursor)
        cursor = start + len(word)
        offsets.append((start, cursor))
    return offsets


class EntityMentionsUnchanged(PreTransformationConstraint):
    """Allow changes only to words outside both marked mentions (``<e1>…</e1>``, ``<e2>…</e2>``).

    TextAttack splits ``<e1>dog</e1>`` into the words ``e1``, ``dog`` and ``e1``, so a
    word is protected when its characters overlap a mention's range, markers included.
    A text whose markers are missing or broken gets no modifiable word at all, so an
    attack can never produce a text whose mentions differ from the original's.
    Applies to every transformation, word swaps, insertions and deletions alike.
    """

    def _get_modifiable_indices(self, current_text: Any) -> set[int]:
        text = current_text.text
        try:
            mentions = find_mentions(text)
        except MarkerError:
            return set()
        protected = (mentions.e1_span, mentions.e2_span)
        modifiable = set()
        for index, (start, end) in enumerate(word_offsets(text, current_text.words)):
            if not any(start < span_end and span_start < end for span_start, span_end in protected):
                modifiable.add(index)
        return modifiable
