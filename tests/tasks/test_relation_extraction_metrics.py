"""Relation-extraction metrics: accuracy and macro-F1 without Other, against scikit-learn and by hand."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score

from harness.tasks.relation_extraction import HEADLINE, RelationExtractionTask, describe_relation

NAMES = ("A(e1,e2)", "B", "Other")


def test_hand_computed_case():
    # A: 2 true positives, 1 false positive (an Other predicted as A), no false negative:
    #    precision 2/3, recall 1, F1 0.8.
    # B: 1 true positive, no false positive, 1 false negative (predicted Other):
    #    precision 1, recall 1/2, F1 2/3.
    # Other is left out of the average: (0.8 + 2/3) / 2 = 0.7333...
    labels = [0, 0, 1, 1, 2, 2]
    predictions = [0, 0, 1, 2, 2, 0]

    metrics = RelationExtractionTask().metrics(labels, predictions, NAMES)

    assert metrics["accuracy"] == pytest.approx(4 / 6)
    assert metrics[HEADLINE] == pytest.approx((0.8 + 2 / 3) / 2)


def test_other_only_errors_lower_relation_scores():
    # Every relation example is predicted as Other: no relation is ever found.
    metrics = RelationExtractionTask().metrics([0, 1, 2], [2, 2, 2], NAMES)

    assert metrics["accuracy"] == pytest.approx(1 / 3)
    assert metrics[HEADLINE] == 0.0


def test_without_other_label_averages_all_labels():
    task = RelationExtractionTask(RelationExtractionTask.Settings(other_label="None"))
    labels = [0, 0, 1, 1, 2, 2]
    predictions = [0, 0, 1, 2, 2, 0]

    metrics = task.metrics(labels, predictions, NAMES)

    assert metrics[HEADLINE] == pytest.approx(f1_score(labels, predictions, average="macro"))


def test_custom_other_label_is_excluded():
    task = RelationExtractionTask(RelationExtractionTask.Settings(other_label="B"))
    labels = [0, 0, 1, 1, 2, 2]
    predictions = [0, 0, 1, 2, 2, 0]

    metrics = task.metrics(labels, predictions, NAMES)

    assert metrics[HEADLINE] == pytest.approx(f1_score(labels, predictions, labels=[0, 2], average="macro"))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=60))
def test_matches_scikit_learn(pairs):
    names = ("R1(e1,e2)", "R1(e2,e1)", "Other", "R2(e1,e2)", "R2(e2,e1)")
    labels = [gold for gold, _ in pairs]
    predictions = [predicted for _, predicted in pairs]

    metrics = RelationExtractionTask().metrics(labels, predictions, names)

    expected = f1_score(labels, predictions, labels=[0, 1, 3, 4], average="macro", zero_division=0)
    assert metrics[HEADLINE] == pytest.approx(expected)
    assert metrics["accuracy"] == pytest.approx(sum(g == p for g, p in pairs) / len(pairs))
    assert 0.0 <= metrics[HEADLINE] <= 1.0


def test_settings_reject_unknown_fields():
    with pytest.raises(ValueError, match="extra"):
        RelationExtractionTask.Settings(other="x")


@pytest.mark.parametrize(
    "label, expected",
    [
        ("Hypernym(e1,e2)", "Hypernym(e1,e2): dog → animal"),
        ("Hypernym(e2,e1)", "Hypernym(e2,e1): animal → dog"),
        ("Antonym", "Antonym: dog, animal"),
        ("Other", "Other: dog, animal"),
    ],
)
def test_describe_relation(label, expected):
    assert describe_relation(label, "dog", "animal") == expected


def test_describe_example():
    details = {"e1": "car", "e2": "wheel", "gold": "Meronym(e1,e2)", "original_prediction": "Meronym(e1,e2)",
               "perturbed_prediction": "Other"}

    description = RelationExtractionTask().describe_example(details, ("Meronym(e1,e2)", "Other"))

    assert description.label == "Meronym(e1,e2): car → wheel"
    assert description.original_prediction == "Meronym(e1,e2): car → wheel"
    assert description.perturbed_prediction == "Other: car, wheel"
