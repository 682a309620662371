"""Scores of generated text against one reference per example, as fractions in [0, 1].

BLEU and chrF are sacrebleu's corpus scores with its defaults (13a tokenisation, mixed case,
exponential smoothing for BLEU, character 6-grams and beta 2 for chrF), divided by 100.
ROUGE is rouge-score's F-measure with the Porter stemmer, averaged over examples. Token F1
uses the SQuAD v1.1 text normalisation of ``harness.tasks.qa_metrics``. Every function returns
0.0 for each metric when there are no examples, and raises ``ValueError`` when the numbers
of predictions and references differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from sacrebleu.metrics import BLEU, CHRF


@lru_cache(maxsize=1)
def _scorers() -> tuple[BLEU, CHRF, BLEU]:
    # Sentence BLEU uses effective order, as sacrebleu recommends for single sentences, so a
    # short output with no matching 4-gram does not score 0 outright.
    bleu, chrf, sentence = BLEU(), CHRF(), BLEU(effective_order=True)
    # A signature names the number of references, which sacrebleu learns from the first call.
    bleu.corpus_score(["a"], [["a"]])
    chrf.corpus_score(["a"], [["a"]])
    sentence.sentence_score("a", ["a"])
    return bleu, chrf, sentence


def _signatures() -> dict[str, str]:
    bleu, chrf, sentence = _scorers()
    return {"bleu": str(bleu.get_signature()), "chrf": str(chrf.get_signature()), "sentence_bleu": str(sentence.get_signature())}


SACREBLEU_SIGNATURES: dict[str, str] = _signatures()


def translation_metrics(predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Return corpus BLEU and chrF."""
    _check_lengths(predictions, references)
    if not predictions:
        return {"bleu": 0.0, "chrf": 0.0}
    return {"bleu": corpus_bleu(predictions, references), "chrf": _corpus_chrf(predictions, references)}


def summarization_metrics(predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Return the mean ROUGE-1, ROUGE-2 and ROUGE-L F-measures over examples."""
    from rouge_score.rouge_scorer import RougeScorer

    _check_lengths(predictions, references)
    names = ("rouge1", "rouge2", "rougeL")
    if not predictions:
        return {name: 0.0 for name in names}
    scorer = RougeScorer(list(names), use_stemmer=True)
    totals = dict.fromkeys(names, 0.0)
    for prediction, reference in zip(predictions, references):
        scores = scorer.score(reference, prediction)
        for name in names:
            totals[name] += scores[name].fmeasure
    return {name: total / len(predictions) for name, total in totals.items()}


def dialogue_metrics(predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Return corpus BLEU, mean token F1, and distinct-1 and distinct-2 of the predictions."""
    from harness.tasks.qa_metrics import token_f1

    _check_lengths(predictions, references)
    if not predictions:
        return {"bleu": 0.0, "token_f1": 0.0, "distinct_1": 0.0, "distinct_2": 0.0}
    return {
        "bleu": corpus_bleu(predictions, references),
        "token_f1": sum(token_f1(p, r) for p, r in zip(predictions, references)) / len(predictions),
        "distinct_1": distinct_n(predictions, 1),
        "distinct_2": distinct_n(predictions, 2),
    }


def corpus_bleu(predictions: Sequence[str], references: Sequence[str]) -> float:
    return _scorers()[0].corpus_score(list(predictions), [list(references)]).score / 100


def _corpus_chrf(predictions: Sequence[str], references: Sequence[str]) -> float:
    return _scorers()[1].corpus_score(list(predictions), [list(references)]).score / 100


def sentence_bleu(prediction: str, reference: str) -> float:
    """Return the BLEU of one output against its reference, with effective order."""
    return _scorers()[2].sentence_score(prediction, [reference]).score / 100


def distinct_n(predictions: Sequence[str], n: int) -> float:
    """Return unique n-grams / all n-grams over all predictions (lowercased whitespace tokens); 0.0 without n-grams."""
    ngrams = []
    for prediction in predictions:
        tokens = prediction.lower().split()
        ngrams += [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return len(set(ngrams)) / len(ngrams) if ngrams else 0.0


def _check_lengths(predictions: Sequence[str], references: Sequence[str]) -> None:
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")
