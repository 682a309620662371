"""Entity-level scores with seqeval in strict IOB2 mode, and entity lists for the report.

Strict mode counts an entity only where a ``B-X`` starts it and ``I-X`` tags continue it.
An ``I-X`` that does not continue an entity of type X starts no entity, because predicted
tags are not repaired. Precision, recall and F1 are micro-averaged over all entities of all
sentences; ``f1.<TYPE>`` is the F1 of one type, reported for every type that occurs in the
gold tags or the predictions.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

HEADLINE = "entity_f1"


def entity_metrics(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict[str, float]:
    """Micro entity precision, recall and F1 and per-type F1 of ``predicted`` against ``gold`` (one tag list per sentence).

    With no gold and no predicted entity at all, every score is 0.0 (seqeval's zero_division=0).
    """
    from seqeval.metrics import classification_report
    from seqeval.scheme import IOB2

    gold_lists = [list(tags) for tags in gold]
    predicted_lists = [list(tags) for tags in predicted]
    # Without any gold or predicted entity, seqeval's macro average is a mean of nothing, which NumPy warns about.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        report = classification_report(gold_lists, predicted_lists, mode="strict", scheme=IOB2, output_dict=True,
                                       zero_division=0)
    micro = report["micro avg"]
    metrics = {
        "entity_precision": float(micro["precision"]),
        "entity_recall": float(micro["recall"]),
        "entity_f1": float(micro["f1-score"]),
    }
    for name, row in report.items():
        if name.endswith(" avg"):
            continue
        metrics[f"f1.{name}"] = float(row["f1-score"])
    return metrics


def entities(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """Entities of one sentence as (type, start, end) with ``end`` exclusive, as seqeval's strict IOB2 mode reads them."""
    from seqeval.scheme import IOB2, Entities

    found = Entities([list(tags)], IOB2).entities[0]
    return [(entity.tag, entity.start, entity.end) for entity in found]


def sentence_f1(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """Entity F1 of one sentence: 2·|G∩P| / (|G| + |P|), and 1.0 when neither has an entity (nothing to find, nothing invented)."""
    return entity_set_f1(set(entities(gold)), set(entities(predicted)))


def entity_set_f1(gold: set[tuple[str, int, int]], predicted: set[tuple[str, int, int]]) -> float:
    """Return the F1 of two entity sets of one sentence, 1.0 when both are empty (see ``sentence_f1``)."""
    if not gold and not predicted:
        return 1.0
    return 2 * len(gold & predicted) / (len(gold) + len(predicted))


def entity_records(words: Sequence[str], tags: Sequence[str]) -> list[dict[str, Any]]:
    """Entities of one sentence as JSON-ready dicts: type, text (the words joined by spaces), start and end word index."""
    return [
        {"type": name, "text": " ".join(words[start:end]), "start": start, "end": end}
        for name, start, end in entities(tags)
    ]


def render_entities(records: Sequence[dict[str, Any]]) -> str:
    """Render entity records as ``type: text; type: text``, or ``(no entities)``."""
    if not records:
        return "(no entities)"
    return "; ".join(f"{record['type']}: {record['text']}" for record in records)
