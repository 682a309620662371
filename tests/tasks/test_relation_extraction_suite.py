"""Suite validation of a relation-extraction task: its data set, settings and attacks."""

from __future__ import annotations

import pytest

from harness.errors import SuiteError
from harness.suite import load_suite, validate_suite
from tests.helpers import REPO


def relation_suite(task_extra: dict | None = None, attacks: list[str] | None = None) -> dict:
    return {
        "name": "relations",
        "tasks": {"rel": {"type": "relation-extraction", "data": {"source": "packaged", "name": "wordnet-relations"},
                          **(task_extra or {})}},
        "models": {"tiny": {"source": "random"}},
        "variants": {"baseline": {}, "adv-a2t": {"attack": "deepwordbug"}},
        "attacks": attacks or ["deepwordbug", "pwws"],
    }


def problems(raw: dict) -> str:
    with pytest.raises(SuiteError) as caught:
        validate_suite(raw)
    return str(caught.value)


def test_relation_suite_validates():
    suite = validate_suite(relation_suite({"settings": {"other_label": "None"}}))

    assert suite.task_settings("rel").other_label == "None"
    assert suite.attacks_for("rel") == ["deepwordbug", "pwws"]


def test_bad_characters_rejected_for_relations():
    message = problems(relation_suite(attacks=["deepwordbug", "bad-characters-delete"]))

    assert "'bad-characters-delete' does not apply to task 'rel' (relation-extraction)" in message


def test_unknown_setting_rejected():
    message = problems(relation_suite({"settings": {"other": "x"}}))

    assert "tasks.rel.settings" in message


def test_classification_data_rejected():
    raw = relation_suite()
    raw["tasks"]["rel"]["data"]["name"] = "rotten-tomatoes"

    message = problems(raw)

    assert "packaged data set 'rotten-tomatoes' is for classification tasks, not relation-extraction" in message


def test_shipped_suite_validates():
    suite = load_suite(REPO / "suites" / "relation-extraction.yaml")

    assert suite.tasks["relations"].type == "relation-extraction"
    assert suite.attacks_for("relations") == ["deepwordbug", "pwws"]
