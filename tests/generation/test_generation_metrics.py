"""Generation metrics: parity with sacrebleu and rouge-score, and hand-computed golden values."""

from __future__ import annotations

import pytest
import sacrebleu
from rouge_score import rouge_scorer

from harness.generation.metrics import (
    SACREBLEU_SIGNATURES,
    dialogue_metrics,
    distinct_n,
    sentence_bleu,
    summarization_metrics,
    translation_metrics,
)

PREDICTIONS = [
    "In the beginning God made the heavens and the earth.",
    "The earth was empty, and darkness was on the deep.",
    "God said let there be light.",
]
REFERENCES = [
    "In the beginning, God created the heavens and the earth.",
    "The earth was formless and empty. Darkness was on the surface of the deep.",
    "God said, “Let there be light,” and there was light.",
]


def test_translation_metrics_match_sacrebleu():
    scores = translation_metrics(PREDICTIONS, REFERENCES)
    expected_bleu = sacrebleu.corpus_bleu(PREDICTIONS, [REFERENCES]).score / 100
    expected_chrf = sacrebleu.corpus_chrf(PREDICTIONS, [REFERENCES]).score / 100
    assert scores["bleu"] == pytest.approx(expected_bleu, abs=1e-12)
    assert scores["chrf"] == pytest.approx(expected_chrf, abs=1e-12)
    assert 0.2 < scores["bleu"] < 0.6
    assert 0.4 < scores["chrf"] < 0.9


def test_translation_metrics_identical_and_disjoint():
    assert translation_metrics(REFERENCES, REFERENCES) == {"bleu": pytest.approx(1.0), "chrf": pytest.approx(1.0)}
    assert translation_metrics(["xyz qqq"], ["abc def"]) == {"bleu": 0.0, "chrf": 0.0}


def test_summarization_metrics_match_rouge_score():
    scores = summarization_metrics(PREDICTIONS, REFERENCES)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    per_example = [scorer.score(reference, prediction) for prediction, reference in zip(PREDICTIONS, REFERENCES)]
    for name in ("rouge1", "rouge2", "rougeL"):
        expected = sum(score[name].fmeasure for score in per_example) / len(per_example)
        assert scores[name] == pytest.approx(expected, abs=1e-12)
    assert scores["rouge1"] > scores["rouge2"]


def test_summarization_metrics_golden_unigram():
    # Stemmed tokens: "cats run" -> cat, run; "the cat runs fast" -> the, cat, run, fast.
    # Two shared unigrams: precision 2/2, recall 2/4, F1 = 2/3.
    scores = summarization_metrics(["cats run"], ["the cat runs fast"])
    assert scores["rouge1"] == pytest.approx(2 / 3)
    assert scores["rouge2"] == pytest.approx(2 * 1.0 * (1 / 3) / (1.0 + 1 / 3))


def test_dialogue_metrics_golden():
    predictions = ["The cat sat down", "hello there"]
    references = ["a cat sat", "goodbye"]
    scores = dialogue_metrics(predictions, references)
    # Example 1: "cat sat down" vs "cat sat": precision 2/3, recall 1, F1 0.8. Example 2: F1 0.
    assert scores["token_f1"] == pytest.approx(0.4)
    # Unigrams: the cat sat down hello there: 6 of 6 unique. Bigrams: 3 + 1, all unique.
    assert scores["distinct_1"] == pytest.approx(1.0)
    assert scores["distinct_2"] == pytest.approx(1.0)
    assert scores["bleu"] == pytest.approx(sacrebleu.corpus_bleu(predictions, [references]).score / 100, abs=1e-12)


def test_distinct_n_golden():
    predictions = ["the cat the dog", "The cat"]
    # Unigrams the cat the dog the cat: 3 unique of 6. Bigrams the-cat cat-the the-dog the-cat: 3 of 4.
    assert distinct_n(predictions, 1) == pytest.approx(0.5)
    assert distinct_n(predictions, 2) == pytest.approx(0.75)
    assert distinct_n(["single"], 2) == 0.0
    assert distinct_n([""], 1) == 0.0


def test_sentence_bleu_matches_sacrebleu():
    for prediction, reference in zip(PREDICTIONS, REFERENCES):
        expected = sacrebleu.sentence_bleu(prediction, [reference]).score / 100
        assert sentence_bleu(prediction, reference) == pytest.approx(expected, abs=1e-12)
    assert sentence_bleu("the same words here", "the same words here") == pytest.approx(1.0)
    assert sentence_bleu("nothing shared", "other words") == 0.0


def test_empty_prediction_lists():
    assert translation_metrics([], []) == {"bleu": 0.0, "chrf": 0.0}
    assert summarization_metrics([], []) == {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
    assert dialogue_metrics([], []) == {"bleu": 0.0, "token_f1": 0.0, "distinct_1": 0.0, "distinct_2": 0.0}


def test_unequal_lengths_raise():
    with pytest.raises(ValueError, match="2 predictions but 1 references"):
        translation_metrics(["a", "b"], ["a"])


def test_signatures():
    assert "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp" in SACREBLEU_SIGNATURES["bleu"]
    assert SACREBLEU_SIGNATURES["chrf"].startswith("nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no")
    assert "eff:yes|tok:13a" in SACREBLEU_SIGNATURES["sentence_bleu"]
    assert f"version:{sacrebleu.__version__}" in SACREBLEU_SIGNATURES["bleu"]
