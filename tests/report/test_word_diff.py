from __future__ import annotations

import pytest

from harness.report.diff import Segment, diff_words


def changed_words(segments: list[Segment]) -> list[str]:
    return [word for segment in segments if segment.changed for word in segment.text.split()]


@pytest.mark.parametrize(
    ("original", "perturbed", "removed", "inserted"),
    [
        ("the film was good", "the film was great", ["good"], ["great"]),
        ("a truly awful , boring mess", "a truly dreadful , tedious mess",
         ["awful", "boring"], ["dreadful", "tedious"]),
        ("a b c", "a x b c", [], ["x"]),
        ("a b c", "a c", ["b"], []),
        ("same words here", "same words here", [], []),
        ("", "new text", [], ["new", "text"]),
    ],
)
def test_diff_marks_changed_words(original, perturbed, removed, inserted):
    original_segments, perturbed_segments = diff_words(original, perturbed)

    assert changed_words(original_segments) == removed
    assert changed_words(perturbed_segments) == inserted


def test_diff_segments_rebuild_texts():
    original = "the  plot was\nthin but the acting was superb"
    perturbed = "the plot was thin yet the acting was excellent"

    original_segments, perturbed_segments = diff_words(original, perturbed)

    assert " ".join(s.text for s in original_segments) == " ".join(original.split())
    assert " ".join(s.text for s in perturbed_segments) == perturbed
    assert original_segments == [
        Segment("the plot was thin", False), Segment("but", True),
        Segment("the acting was", False), Segment("superb", True),
    ]
    assert perturbed_segments == [
        Segment("the plot was thin", False), Segment("yet", True),
        Segment("the acting was", False), Segment("excellent", True),
    ]


def test_diff_ignores_whitespace_changes():
    original_segments, perturbed_segments = diff_words("a  b\n\tc ", " a b c")

    assert original_segments == [Segment("a b c", False)]
    assert perturbed_segments == [Segment("a b c", False)]


def test_diff_deletion_merges_equal_runs():
    _, perturbed_segments = diff_words("keep drop keep", "keep keep")

    assert perturbed_segments == [Segment("keep keep", False)]


def test_diff_long_text_marks_one_word():
    # 600 words where "the" is frequent: difflib's autojunk would treat it as junk.
    words = ("the cast and the crew of the film " * 75).split()
    perturbed = list(words)
    perturbed[301] = "team"

    original_segments, perturbed_segments = diff_words(" ".join(words), " ".join(perturbed))

    assert changed_words(original_segments) == [words[301]]
    assert changed_words(perturbed_segments) == ["team"]
    assert len(original_segments) == 3
