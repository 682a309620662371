"""Exact match and F1 against hand-computed SQuAD v1.1 scores."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.tasks.qa_metrics import best_exact_match, best_f1, normalize_answer, qa_metrics, token_f1


@pytest.mark.parametrize(
    "text, expected",
    [
        ("The Eiffel Tower!", "eiffel tower"),
        ("  an   apple, a pear ", "apple pear"),
        ("Theatre", "theatre"),  # "the" only as a whole word
        ("U.S. Army", "us army"),
        ("", ""),
    ],
)
def test_normalize_answer_cases(text, expected):
    assert normalize_answer(text) == expected


def test_token_f1_partial_overlap():
    # prediction "barack obama jr" vs gold "obama": 1 shared token, precision 1/3, recall 1.
    assert token_f1("Barack Obama Jr.", "Obama") == pytest.approx(2 * (1 / 3) * 1 / (1 / 3 + 1))


def test_token_f1_counts_repeated_tokens():
    # prediction "new new york" vs gold "new york": shared = min counts = 2, P = 2/3, R = 1.
    assert token_f1("new new york", "New York") == pytest.approx(0.8)


def test_token_f1_empty_prediction():
    assert token_f1("", "Paris") == 0.0
    assert token_f1("the", "a") == 1.0  # both normalise to nothing


def test_best_scores_take_max_over_golds():
    golds = ["Denver Broncos", "the Broncos", "Broncos"]
    assert best_exact_match("Broncos", golds) == 1.0
    assert best_f1("Denver", golds) == pytest.approx(2 / 3)
    assert best_exact_match("Denver", golds) == 0.0


def test_qa_metrics_means():
    metrics = qa_metrics(["Paris", "in 1990", ""], [["Paris"], ["1990", "1991"], ["London"]])
    assert metrics["exact_match"] == pytest.approx(1 / 3)
    # F1: 1, 2*(1/2)*1/(1/2+1) = 2/3, 0
    assert metrics["f1"] == pytest.approx((1 + 2 / 3 + 0) / 3)


def test_qa_metrics_rejects_length_mismatch():
    with pytest.raises(ValueError, match="2 predictions but 1"):
        qa_metrics(["a", "b"], [["a"]])


_WORDS = ["the", "a", "an", "Paris", "paris", "New", "York", "U.S.", "1990", "in", "of", "!", "Obama's", "—", "x"]


@given(prediction=st.lists(st.sampled_from(_WORDS), max_size=6), gold=st.lists(st.sampled_from(_WORDS), max_size=6))
@settings(max_examples=200, deadline=None)
def test_metrics_match_transformers_squad(prediction, gold):
    """Parity with the SQuAD scorer shipped in transformers (its v2 scorer uses the same normalisation as v1.1)."""
    from transformers.data.metrics.squad_metrics import compute_exact, compute_f1

    prediction_text, gold_text = " ".join(prediction), " ".join(gold)
    assert token_f1(prediction_text, gold_text) == pytest.approx(compute_f1(gold_text, prediction_text))
    assert best_exact_match(prediction_text, [gold_text]) == compute_exact(gold_text, prediction_text)
