"""Entity scores: parity with seqeval called directly, and hand-computed cases."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from seqeval.metrics import f1_score, precision_score, recall_score
from seqeval.scheme import IOB2

from harness.tasks.ner_metrics import entities, entity_metrics, entity_records, render_entities, sentence_f1

TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def test_metrics_hand_computed():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["O", "B-LOC", "I-LOC"]]
    # PER exact, LOC in sentence 1 missed, LOC in sentence 2 cut short (wrong span), one spurious PER.
    predicted = [["B-PER", "I-PER", "O", "O"], ["B-PER", "B-LOC", "O"]]

    metrics = entity_metrics(gold, predicted)

    # gold 3 entities, predicted 3, correct 1 → P = R = F1 = 1/3
    assert metrics["entity_precision"] == pytest.approx(1 / 3)
    assert metrics["entity_recall"] == pytest.approx(1 / 3)
    assert metrics["entity_f1"] == pytest.approx(1 / 3)
    # PER: gold 1, predicted 2, correct 1 → P 1/2, R 1, F1 2/3; LOC: gold 2, predicted 1, correct 0
    assert metrics["f1.PER"] == pytest.approx(2 / 3)
    assert metrics["f1.LOC"] == 0.0


def test_metrics_strict_ignores_orphan_inside_tag():
    gold = [["B-PER", "I-PER", "O"]]
    predicted = [["I-PER", "I-PER", "O"]]

    metrics = entity_metrics(gold, predicted)

    assert metrics["entity_f1"] == 0.0
    assert metrics["entity_precision"] == 0.0


def test_metrics_perfect_and_empty():
    assert entity_metrics([["B-PER", "O"]], [["B-PER", "O"]])["entity_f1"] == 1.0
    assert entity_metrics([["O", "O"]], [["O", "O"]])["entity_f1"] == 0.0


tag_sequences = st.lists(st.lists(st.sampled_from(TAGS), min_size=1, max_size=8), min_size=1, max_size=6)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_metrics_match_seqeval(data):
    gold = data.draw(tag_sequences)
    predicted = [data.draw(st.lists(st.sampled_from(TAGS), min_size=len(row), max_size=len(row))) for row in gold]

    metrics = entity_metrics(gold, predicted)

    options = {"mode": "strict", "scheme": IOB2, "zero_division": 0}
    assert metrics["entity_f1"] == pytest.approx(f1_score(gold, predicted, **options))
    assert metrics["entity_precision"] == pytest.approx(precision_score(gold, predicted, **options))
    assert metrics["entity_recall"] == pytest.approx(recall_score(gold, predicted, **options))
    for name in ("PER", "LOC"):
        key = f"f1.{name}"
        only = [[tag if tag.endswith(name) else "O" for tag in row] for row in gold]
        only_predicted = [[tag if tag.endswith(name) else "O" for tag in row] for row in predicted]
        if key in metrics:
            assert metrics[key] == pytest.approx(f1_score(only, only_predicted, **options))


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_sentence_f1_matches_seqeval(data):
    gold = data.draw(st.lists(st.sampled_from(TAGS), min_size=1, max_size=10))
    predicted = data.draw(st.lists(st.sampled_from(TAGS), min_size=len(gold), max_size=len(gold)))

    value = sentence_f1(gold, predicted)

    if not entities(gold) and not entities(predicted):
        assert value == 1.0
    else:
        assert value == pytest.approx(f1_score([gold], [predicted], mode="strict", scheme=IOB2, zero_division=0))


@pytest.mark.parametrize(
    "gold, predicted, expected",
    [
        (["B-PER", "O"], ["B-PER", "O"], 1.0),
        (["B-PER", "O"], ["B-LOC", "O"], 0.0),
        (["B-PER", "O", "B-LOC"], ["B-PER", "O", "O"], 2 / 3),
        (["B-PER", "O"], ["B-PER", "B-LOC"], 2 / 3),
        (["O", "O"], ["O", "O"], 1.0),
        (["O", "O"], ["B-PER", "O"], 0.0),
        (["B-PER", "I-PER"], ["B-PER", "O"], 0.0),
    ],
)
def test_sentence_f1_cases(gold, predicted, expected):
    assert sentence_f1(gold, predicted) == pytest.approx(expected)


def test_entity_records_and_rendering():
    words = ["John", "Smith", "visited", "Paris"]
    records = entity_records(words, ["B-PER", "I-PER", "O", "B-LOC"])

    assert records == [
        {"type": "PER", "text": "John Smith", "start": 0, "end": 2},
        {"type": "LOC", "text": "Paris", "start": 3, "end": 4},
    ]
    assert render_entities(records) == "PER: John Smith; LOC: Paris"
    assert render_entities([]) == "(no entities)"
