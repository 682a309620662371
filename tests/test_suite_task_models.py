"""Per-task models and attack budgets of a suite, and the model architecture each task type needs."""

import pytest

from harness.errors import SuiteError
from harness.execution.plan import AttackUnit, TrainUnit, build_plan
from harness.suite import validate_suite


def _suite(**top) -> dict:
    raw = {
        "name": "mixed",
        "tasks": {
            "sentiment": {"type": "classification", "data": {"source": "packaged", "name": "rotten-tomatoes"}, "models": ["bert"],
                          "attacks": ["deepwordbug"]},
            "mt": {"type": "translation", "data": {"source": "packaged", "name": "bible-en-es"}, "models": ["llm"],
                   "attacks": ["seq2seq-chars"], "attack": {"examples": 3, "query_budget": 20}},
        },
        "models": {"bert": {"source": "random"},
                   "llm": {"source": "random", "tokenizer": "SmolLM2-135M-Instruct"}},
        "variants": {"baseline": {}},
        "attacks": ["deepwordbug", "seq2seq-chars"],
        "attack": {"examples": 50, "query_budget": 500},
    }
    raw.update(top)
    return raw


def _problems(raw: dict) -> str:
    with pytest.raises(SuiteError) as caught:
        validate_suite(raw)
    return str(caught.value)


def test_task_models_filter_plan():
    plan = build_plan(validate_suite(_suite()))
    trained = {(unit.task, unit.model) for unit in plan.units if isinstance(unit, TrainUnit)}
    attacked = {(unit.task, unit.model, unit.attack) for unit in plan.units if isinstance(unit, AttackUnit)}
    assert trained == {("sentiment", "bert"), ("mt", "llm")}
    assert attacked == {("sentiment", "bert", "deepwordbug"), ("mt", "llm", "seq2seq-chars")}


def test_task_attack_budget_replaces_suite_entries():
    suite = validate_suite(_suite())
    assert suite.attack_for("mt").examples == 3
    assert suite.attack_for("mt").query_budget == 20
    assert suite.attack_for("mt").batch_size == suite.attack.batch_size
    assert suite.attack_for("sentiment") == suite.attack
    budgets = {unit.task: unit.config["budget"] for unit in build_plan(suite).units if isinstance(unit, AttackUnit)}
    assert budgets["mt"]["examples"] == 3
    assert budgets["sentiment"]["examples"] == 50


def test_changed_task_budget_changes_only_its_attack_keys():
    first = build_plan(validate_suite(_suite()))
    raw = _suite()
    raw["tasks"]["mt"]["attack"] = {"examples": 4}
    second = build_plan(validate_suite(raw))
    keys = lambda plan, task: {unit.key for unit in plan.units if unit.task == task}  # noqa: E731
    assert keys(first, "sentiment") == keys(second, "sentiment")
    assert keys(first, "mt") != keys(second, "mt")
    trained = lambda plan: {unit.key for unit in plan.units if isinstance(unit, TrainUnit)}  # noqa: E731
    assert trained(first) == trained(second)


def test_encoder_on_generation_task_is_named():
    raw = _suite()
    del raw["tasks"]["mt"]["models"]
    message = _problems(raw)
    assert "tasks.mt: model 'bert' is an encoder, but task type 'translation' needs a causal language model" in message
    assert "tasks.mt.models" in message
    assert "models that fit: llm" in message


def test_causal_lm_on_classification_is_named():
    raw = _suite()
    raw["tasks"]["sentiment"]["models"] = ["bert", "llm"]
    message = _problems(raw)
    assert "tasks.sentiment: model 'llm' is a causal language model, but task type 'classification' needs an encoder" in message


def test_unknown_task_model_is_named():
    raw = _suite()
    raw["tasks"]["mt"]["models"] = ["lama"]
    message = _problems(raw)
    assert "tasks.mt.models: unknown model 'lama'" in message
    assert "llm" in message


def test_bad_task_attack_budget_is_named():
    raw = _suite()
    raw["tasks"]["mt"]["attack"] = {"examples": 0, "budget": 3}
    message = _problems(raw)
    assert "tasks.mt.attack.examples: invalid value 0" in message
    assert "tasks.mt.attack.budget: unknown field" in message


def test_generation_attack_on_classification_is_named():
    raw = _suite()
    raw["tasks"]["sentiment"]["attacks"] = ["deepwordbug", "seq2seq-chars"]
    message = _problems(raw)
    assert "'seq2seq-chars' does not apply to task 'sentiment' (classification)" in message


def test_packaged_generation_data_needs_its_task():
    raw = _suite()
    raw["tasks"]["sentiment"]["data"]["name"] = "chitchat"
    message = _problems(raw)
    assert "packaged data set 'chitchat' is for dialogue tasks, not classification" in message
