"""Exact match and token F1 of extractive QA answers, with the SQuAD v1.1 answer normalisation.

Both scores of one prediction are the maximum over its gold answers. Normalisation lowercases,
removes ASCII punctuation (``string.punctuation``), removes the articles a, an and the as whole
words, and collapses whitespace, as the SQuAD v1.1 evaluation defines it.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

_PUNCTUATION = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    """Lowercase, drop punctuation, drop the articles a/an/the and collapse whitespace."""
    text = text.lower()
    text = "".join(character for character in text if character not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str) -> float:
    """F1 of the normalised tokens shared by ``prediction`` and ``gold`` (bag of words, with counts).

    When either side normalises to no tokens, the score is 1.0 if both do and 0.0 otherwise.
    """
    predicted_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    if not predicted_tokens or not gold_tokens:
        return float(predicted_tokens == gold_tokens)
    shared = sum((Counter(predicted_tokens) & Counter(gold_tokens)).values())
    if shared == 0:
        return 0.0
    precision = shared / len(predicted_tokens)
    recall = shared / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def best_exact_match(prediction: str, golds: Sequence[str]) -> float:
    return max(exact_match(prediction, gold) for gold in golds)


def best_f1(prediction: str, golds: Sequence[str]) -> float:
    return max(token_f1(prediction, gold) for gold in golds)


def qa_metrics(predictions: Sequence[str], golds: Sequence[Sequence[str]]) -> dict[str, float]:
    """Mean exact match and mean F1 over examples, as fractions in [0, 1]; 0.0 for no examples."""
    if len(predictions) != len(golds):
        raise ValueError(f"{len(predictions)} predictions but {len(golds)} gold answer lists")
    if not predictions:
        return {"exact_match": 0.0, "f1": 0.0}
    exact = [best_exact_match(prediction, answers) for prediction, answers in zip(predictions, golds)]
    f1 = [best_f1(prediction, answers) for prediction, answers in zip(predictions, golds)]
    return {"exact_match": sum(exact) / len(exact), "f1": sum(f1) / len(f1)}
