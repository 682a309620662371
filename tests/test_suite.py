from pathlib import Path

import pytest

from harness.errors import SuiteError
from harness.execution.plan import build_plan
from harness.suite import load_suite, validate_suite

from tests.helpers import REPO, tiny_suite_text

SHIPPED = sorted((REPO / "suites").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_suite_validates(path: Path):
    suite = load_suite(path)
    assert build_plan(suite).units


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_suite_starts_with_command(path: Path):
    first_line = path.read_text(encoding="utf-8").splitlines()[0]
    assert first_line == f"# rsbench run suites/{path.name}"


def test_embedded_suite_shape():
    suite = load_suite(REPO / "suites" / "embedded.yaml")
    plan = build_plan(suite)
    assert len(plan.train_units()) == 7
    assert len(suite.attacks) >= 3
    assert suite.attack.examples >= 100
    assert {suite.variant_kind(name) for name in suite.variants_for("minilm-l3")} == {"baseline", "adv", "adv-a2t", "kd", "reg", "rs"}


def _problems(raw, **kwargs) -> list[str]:
    with pytest.raises(SuiteError) as caught:
        validate_suite(raw, **kwargs)
    return caught.value.problems


def _base() -> dict:
    return {
        "name": "t",
        "tasks": {"s": {"type": "classification", "data": {"source": "packaged", "name": "rotten-tomatoes"}}},
        "models": {"m": {"source": "random"}},
        "variants": {"baseline": {}},
        "attacks": ["deepwordbug"],
    }


def test_all_problems_reported_at_once():
    raw = _base()
    raw["tasks"]["s"]["type"] = "clasification"
    raw["attacks"] = ["pwwss"]
    raw["training"] = {"epochs": 0, "lerning_rate": 1}
    problems = _problems(raw)
    assert any("tasks.s.type" in p and "Did you mean 'classification'" in p for p in problems)
    assert any("attacks.0" in p and "Did you mean 'pwws'" in p for p in problems)
    assert any("training.epochs" in p and "0" in p for p in problems)
    assert any("training.lerning_rate" in p and "Did you mean 'learning_rate'" in p for p in problems)


def test_unknown_variant_kind_lists_known():
    raw = _base()
    raw["variants"] = {"advv": {}}
    problems = _problems(raw)
    assert any("variants.advv" in p and "Did you mean 'adv'" in p and "baseline" in p for p in problems)


def test_bad_variant_param_names_field():
    raw = _base()
    raw["variants"] = {"adv": {"epsilon": -1, "stepz": 2}}
    problems = _problems(raw)
    assert any(p.startswith("variants.adv.epsilon: invalid value -1") for p in problems)
    assert any("variants.adv.stepz" in p and "Did you mean 'steps'" in p for p in problems)


def test_kd_teacher_must_be_suite_model():
    raw = _base()
    raw["variants"] = {"baseline": {}, "kd": {"teacher": "bigger"}}
    problems = _problems(raw)
    assert any("variants.kd.teacher" in p and "'bigger'" in p for p in problems)


def test_unknown_packaged_names():
    raw = _base()
    raw["tasks"]["s"]["data"]["name"] = "imdb"
    raw["models"]["m"] = {"source": "packaged", "name": "bert-base"}
    problems = _problems(raw)
    assert any("tasks.s.data" in p and "'imdb'" in p and "rotten-tomatoes" in p for p in problems)
    assert any("models.m.name" in p and "all-MiniLM-L6-v2" in p for p in problems)


def test_missing_data_file_named(tmp_path):
    raw = _base()
    raw["tasks"]["s"]["data"] = {"source": "file", "path": "nope.csv"}
    problems = _problems(raw, base_dir=tmp_path)
    assert any("tasks.s.data.path: file not found" in p and "nope.csv" in p for p in problems)


def test_malformed_yaml_reports_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\ntasks: [\n  a: b\n", encoding="utf-8")
    with pytest.raises(SuiteError) as caught:
        load_suite(path)
    assert "malformed YAML at line" in str(caught.value)


def test_non_utf8_suite(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(SuiteError, match="not UTF-8"):
        load_suite(path)


def test_top_level_not_mapping():
    assert "expected a mapping" in _problems(["a", "b"])[0]


def test_relative_data_path_resolves_to_suite_folder(tmp_path, sentiment_csv):
    suite_path = tmp_path / "suite.yaml"
    suite_path.write_text(tiny_suite_text("      source: file\n      path: reviews.csv\n      text_column: review\n      label_column: sentiment"), encoding="utf-8")
    suite = load_suite(suite_path)
    assert suite.tasks["sentiment"].data.path == sentiment_csv.resolve()


def test_unit_keys_stable_and_sensitive():
    first = build_plan(validate_suite(_base()))
    second = build_plan(validate_suite(_base()))
    assert [u.key for u in first.units] == [u.key for u in second.units]
    changed = _base()
    changed["training"] = {"epochs": 3}
    third = build_plan(validate_suite(changed))
    assert first.train_units()[0].key != third.train_units()[0].key


def test_teacher_trains_before_student():
    raw = _base()
    raw["models"]["student"] = {"source": "random", "architecture": {"num_hidden_layers": 1}, "variants": ["kd"]}
    raw["models"]["m"]["variants"] = ["baseline"]
    raw["variants"] = {"baseline": {}, "kd": {"teacher": "m"}}
    plan = build_plan(validate_suite(raw))
    keys = [unit.key for unit in plan.units]
    student = next(u for u in plan.train_units() if u.model == "student")
    teacher = next(u for u in plan.train_units() if u.model == "m")
    assert student.teacher_key == teacher.key
    assert keys.index(teacher.key) < keys.index(student.key)


def test_file_data_field_named_without_tag(tmp_path):
    raw = _base()
    raw["tasks"]["s"]["data"] = {"source": "file", "path": "x.csv", "text_colum": "review"}
    problems = _problems(raw)
    assert any(p.startswith("tasks.s.data.text_colum: unknown field. Did you mean 'text_column'?") for p in problems)


def test_duplicate_yaml_key_rejected(tmp_path):
    path = tmp_path / "dup.yaml"
    path.write_text("name: a\nseeds: [0]\nseeds: [1]\n", encoding="utf-8")
    with pytest.raises(SuiteError, match="duplicate key 'seeds'"):
        load_suite(path)


def test_alias_bomb_rejected_quickly(tmp_path):
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for previous, name in zip("abcdefg", "bcdefgh"):
        lines.append(f"{name}: &{name} [*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous},*{previous}]")
    lines.append("name: *h")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(SuiteError) as caught:
        load_suite(path)
    assert len(str(caught.value)) < 4000


@pytest.mark.parametrize(
    ("field", "value"),
    [("seeds", [2**40]), ("seeds", [-1]), ("training", {"learning_rate": float("inf")})],
)
def test_out_of_range_numbers_rejected(field, value):
    raw = _base()
    raw[field] = value
    assert any(p.startswith(field) for p in _problems(raw))


def test_internal_fields_not_accepted():
    raw = _base()
    raw["resolved_variants"] = {}
    assert any("resolved_variants: unknown field" in p for p in _problems(raw))


def test_duplicate_labels_rejected():
    raw = _base()
    raw["tasks"]["s"]["data"]["labels"] = ["neg", "pos", "pos"]
    assert any("tasks.s.data.labels" in p and "distinct" in p for p in _problems(raw))


def test_random_architecture_checked():
    raw = _base()
    raw["models"]["m"] = {"source": "random", "architecture": {"hidden_size": 33, "num_hidden_layers": 0}, "keep_layers": [0, 5]}
    problems = _problems(raw)
    assert any("models.m.architecture.hidden_size: 33 is not a multiple" in p for p in problems)
    assert any("models.m.architecture.num_hidden_layers: invalid value 0" in p for p in problems)
    assert any("models.m.keep_layers: layer 0 does not exist" in p or "layer 5 does not exist" in p for p in problems)


def test_a2t_attack_must_exist():
    raw = _base()
    raw["variants"] = {"adv-a2t": {"attack": "nosuchattack"}}
    assert any(p.startswith("variants.adv-a2t.attack: unknown attack 'nosuchattack'") for p in _problems(raw))
