"""Per-task settings, variants and attacks of a suite, and the units they plan."""

import pytest

from harness import catalog
from harness.errors import SuiteError
from harness.execution.plan import AttackUnit, TrainUnit, build_plan
from harness.registry import Entry
from harness.suite import validate_suite


def _suite(task_extra: dict | None = None, **top) -> dict:
    raw = {
        "name": "tasks",
        "tasks": {"sentiment": {"type": "classification", "data": {"source": "packaged", "name": "rotten-tomatoes"},
                                **(task_extra or {})}},
        "models": {"tiny": {"source": "random"}},
        "variants": {"baseline": {}, "reg": {"weight_decay": 0.1}, "kd": {"teacher": "self"}},
        "attacks": ["deepwordbug", "pwws"],
    }
    raw.update(top)
    return raw


def _problems(raw: dict) -> str:
    with pytest.raises(SuiteError) as caught:
        validate_suite(raw)
    return str(caught.value)


def test_task_variants_and_attacks_filter_plan():
    suite = validate_suite(_suite({"variants": ["reg"], "attacks": ["pwws"]}))
    plan = build_plan(suite)
    trained = {(unit.variant, unit.model) for unit in plan.units if isinstance(unit, TrainUnit)}
    attacked = {(unit.variant, unit.attack) for unit in plan.units if isinstance(unit, AttackUnit)}
    assert trained == {("reg", "tiny")}
    assert attacked == {("reg", "pwws")}


def test_kd_teacher_trained_outside_task_variants():
    suite = validate_suite(_suite({"variants": ["kd"]}))
    trained = sorted(unit.variant for unit in build_plan(suite).units if isinstance(unit, TrainUnit))
    attacked = sorted({unit.variant for unit in build_plan(suite).units if isinstance(unit, AttackUnit)})
    assert trained == ["baseline", "kd"]
    assert attacked == ["kd"]


def test_empty_settings_keep_unit_keys():
    plain = build_plan(validate_suite(_suite()))
    with_settings = build_plan(validate_suite(_suite({"settings": {}})))
    assert [unit.key for unit in plain.units] == [unit.key for unit in with_settings.units]
    assert all("settings" not in unit.config.get("task", {}) for unit in plain.units)


def test_unknown_task_setting_named():
    message = _problems(_suite({"settings": {"threshold": 0.5}}))
    assert "tasks.sentiment.settings.threshold" in message


def test_task_variant_must_be_defined():
    message = _problems(_suite({"variants": ["adv"]}))
    assert "tasks.sentiment.variants" in message
    assert "'adv'" in message


def test_task_attack_must_be_in_suite():
    message = _problems(_suite({"attacks": ["pruthi"]}))
    assert "tasks.sentiment.attacks: 'pruthi' is not in the suite's attacks" in message


def test_packaged_data_of_other_task_rejected():
    raw = _suite()
    raw["tasks"]["sentiment"]["data"]["name"] = "wnut16"
    message = _problems(raw)
    assert "tasks.sentiment.data.name: packaged data set 'wnut16' is for ner tasks, not classification" in message
    assert "rotten-tomatoes" in message


def test_unsupported_attack_and_variant_rejected(monkeypatch):
    entry = catalog.TASKS.entry("classification")
    narrowed = dict(entry.metadata) | {"attacks": ("pwws",), "variants": ("baseline",)}
    monkeypatch.setitem(catalog.TASKS._entries, "classification",
                        Entry(entry.name, entry.description, entry.target, tuple(sorted(narrowed.items()))))
    message = _problems(_suite())
    assert "attacks: 'deepwordbug' does not apply to task 'sentiment' (classification)" in message
    assert "tasks.sentiment.attacks" in message
    assert "variants.reg: kind 'reg' is not supported by task 'sentiment'" in message

    # Restricting the task to what it supports makes the suite valid.
    validate_suite(_suite({"variants": ["baseline"], "attacks": ["pwws"]}))


def test_task_training_overrides_suite():
    raw = _suite({"training": {"max_length": 192}}, training={"max_length": 48, "epochs": 3})
    suite = validate_suite(raw)
    assert suite.training_for("sentiment").max_length == 192
    assert suite.training_for("sentiment").epochs == 3
    attack = next(unit for unit in build_plan(suite).units if isinstance(unit, AttackUnit))
    assert attack.config["max_length"] == 192


def test_task_training_changes_only_its_keys():
    raw = _suite()
    raw["tasks"]["other"] = {"type": "classification", "data": {"source": "packaged", "name": "rotten-tomatoes", "split_seed": 1}}
    before = {(unit.task, unit.variant, getattr(unit, "attack", None)): unit.key for unit in build_plan(validate_suite(raw)).units}
    raw["tasks"]["other"]["training"] = {"max_length": 96}
    after = {(unit.task, unit.variant, getattr(unit, "attack", None)): unit.key for unit in build_plan(validate_suite(raw)).units}
    assert {name: key for name, key in after.items() if name[0] == "sentiment"} == {name: key for name, key in before.items() if name[0] == "sentiment"}
    assert all(after[name] != before[name] for name in after if name[0] == "other")


@pytest.mark.parametrize(("training", "field"), [({"max_length": -1}, "tasks.sentiment.training.max_length"),
                                                 ({"max_lenght": 64}, "tasks.sentiment.training.max_lenght")])
def test_invalid_task_training_named(training, field):
    assert field in _problems(_suite({"training": training}))


def test_unsupported_task_attack_one_fix(monkeypatch):
    entry = catalog.TASKS.entry("classification")
    narrowed = dict(entry.metadata) | {"attacks": ("pwws", "deepwordbug")}
    monkeypatch.setitem(catalog.TASKS._entries, "classification",
                        Entry(entry.name, entry.description, entry.target, tuple(sorted(narrowed.items()))))
    message = _problems(_suite({"attacks": ["pruthi"]}))
    assert "'pruthi' does not apply to task 'sentiment'" in message
    assert "Add it to 'attacks:'" not in message
