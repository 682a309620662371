"""Entity markers of relation-extraction texts: ``<e1>…</e1>`` and ``<e2>…</e2>`` as in SemEval-2010 Task 8."""

from __future__ import annotations

from dataclasses import dataclass

E1_OPEN, E1_CLOSE, E2_OPEN, E2_CLOSE = "<e1>", "</e1>", "<e2>", "</e2>"
MARKERS = (E1_OPEN, E1_CLOSE, E2_OPEN, E2_CLOSE)


class MarkerError(ValueError):
    """A text whose entity markers are missing, repeated, out of order or around an empty mention."""


@dataclass(frozen=True)
class Mentions:
    """The two entity mentions of a marked text.

    ``e1_span`` and ``e2_span`` are character ranges ``[start, end)`` of the text that run
    from the opening marker to the end of the closing marker, so they include both.
    """

    e1: str
    e2: str
    e1_span: tuple[int, int]
    e2_span: tuple[int, int]

    def marked(self, text: str) -> tuple[str, str]:
        """Return both marked mentions of ``text``, markers included."""
        return text[self.e1_span[0] : self.e1_span[1]], text[self.e2_span[0] : self.e2_span[1]]


def _span(text: str, opening: str, closing: str) -> tuple[int, int, str]:
    for marker in (opening, closing):
        count = text.count(marker)
        if count == 0:
            raise MarkerError(f"marker {marker} is missing")
        if count > 1:
            raise MarkerError(f"marker {marker} occurs {count} times")
    start = text.index(opening)
    close = text.index(closing)
    if close < start:
        raise MarkerError(f"{closing} comes before {opening}")
    mention = text[start + len(opening) : close]
    if not mention.strip():
        raise MarkerError(f"the mention between {opening} and {closing} is empty")
    return start, close + len(closing), mention


def find_mentions(text: str) -> Mentions:
    """Locate both marked mentions of ``text``; raise ``MarkerError`` saying what is wrong with the markers."""
    e1_start, e1_end, e1 = _span(text, E1_OPEN, E1_CLOSE)
    e2_start, e2_end, e2 = _span(text, E2_OPEN, E2_CLOSE)
    if e1_start < e2_end and e2_start < e1_end:
        raise MarkerError("the <e1> and <e2> mentions overlap or are nested")
    return Mentions(e1.strip(), e2.strip(), (e1_start, e1_end), (e2_start, e2_end))


MARKER_FIX = "Mark each example's two mentions once each, as in: The <e1>dog</e1> is an <e2>animal</e2>."
