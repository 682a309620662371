import pytest

from harness.errors import SuiteError
from harness.gate.tolerance import DEFAULT_TOLERANCE, GATED_METRICS, Tolerance, parse_tolerance, parse_tolerance_option
from harness.suite import validate_suite


@pytest.mark.parametrize(("text", "value", "relative"), [
    ("0.02", 0.02, False), (0.05, 0.05, False), (0, 0.0, False), ("1", 1.0, False), (".5", 0.5, False),
    ("5%", 0.05, True), (" 2.5 % ", 0.025, True), ("150%", 1.5, True), ("0%", 0.0, True), ("1e-2", 0.01, False),
])
def test_parse_tolerance_values(text, value, relative):
    tolerance = parse_tolerance(text)
    assert tolerance.value == pytest.approx(value)
    assert tolerance.relative is relative


@pytest.mark.parametrize(("text", "message"), [
    ("-0.1", "at least 0"), ("abc", "write a number"), ("5%%", "write a number"), ("", "write a number"),
    ("nan", "write a number"), (float("inf"), "finite"), (-0.5, "at least 0"), ("2", "Write 0.02 for a drop of 2 points, or 2% for a drop"),
    (True, "write a number"),
])
def test_parse_tolerance_rejects(text, message):
    with pytest.raises(ValueError, match="invalid tolerance") as error:
        parse_tolerance(text)
    assert message in str(error.value)


def test_allowed_drop_absolute_and_relative():
    assert Tolerance(0.02, relative=False).allowed_drop(0.8) == pytest.approx(0.02)
    assert Tolerance(0.05, relative=True).allowed_drop(0.8) == pytest.approx(0.04)
    assert Tolerance(0.05, relative=True).allowed_drop(0.0) == 0.0


def test_tolerance_text_round_trips():
    assert str(parse_tolerance("5%")) == "5%"
    assert str(parse_tolerance("0.02")) == "0.02"
    assert parse_tolerance(str(parse_tolerance("12.5%"))) == parse_tolerance("12.5%")


def test_parse_tolerance_option():
    assert parse_tolerance_option("robust_accuracy=5%") == ("robust_accuracy", Tolerance(0.05, relative=True))
    assert parse_tolerance_option("attack_success_rate=0.1") == ("attack_success_rate", Tolerance(0.1, relative=False))


def test_parse_tolerance_option_unknown_metric():
    with pytest.raises(ValueError, match="unknown gated metric 'robust_acc'") as error:
        parse_tolerance_option("robust_acc=0.1")
    assert "Did you mean 'robust_accuracy'" in str(error.value)


def test_parse_tolerance_option_without_equals():
    with pytest.raises(ValueError, match="write METRIC=VALUE"):
        parse_tolerance_option("robust_accuracy")


def test_metric_directions():
    assert GATED_METRICS["robust_accuracy"].higher_is_better
    assert GATED_METRICS["clean_accuracy"].higher_is_better
    assert not GATED_METRICS["attack_success_rate"].higher_is_better
    assert GATED_METRICS["clean_accuracy"].pairing is None
    assert GATED_METRICS["robust_accuracy"].pairing == "attacked"


def test_default_tolerance_is_two_points():
    assert DEFAULT_TOLERANCE == Tolerance(0.02, relative=False)


def _suite(gate: dict) -> dict:
    return {
        "name": "gated",
        "tasks": {"sentiment": {"type": "classification", "data": {"source": "packaged", "name": "rotten-tomatoes"}}},
        "models": {"tiny": {"source": "random"}},
        "variants": {"baseline": {}},
        "attacks": ["deepwordbug"],
        "gate": gate,
    }


def test_suite_gate_section_is_read():
    suite = validate_suite(_suite({"tolerances": {"robust_accuracy": "5%", "clean_accuracy": 0.01}, "resamples": 2000, "seed": 3}))
    assert suite.gate.tolerances == {"robust_accuracy": "5%", "clean_accuracy": 0.01}
    assert suite.gate.resamples == 2000
    assert suite.gate.seed == 3
    assert suite.gate.confidence == 0.95


def test_suite_without_gate_gets_defaults():
    raw = _suite({})
    del raw["gate"]
    suite = validate_suite(raw)
    assert suite.gate.tolerances == {}
    assert suite.gate.resamples == 9999


@pytest.mark.parametrize(("gate", "expected"), [
    ({"tolerances": {"robust_acuracy": 0.02}}, "gate.tolerances: invalid value"),
    ({"tolerances": {"robust_acuracy": 0.02}}, "Did you mean 'robust_accuracy'"),
    ({"tolerances": {"robust_accuracy": "five"}}, "invalid tolerance 'five'"),
    ({"tolerances": {"robust_accuracy": 3}}, "Write 0.03 for a drop of 3 points, or 3%"),
    ({"tolerances": {"robust_accuracy": "five"}}, "robust_accuracy: invalid tolerance 'five'"),
    ({"tolerances": {"robust_accuracy": True}}, "robust_accuracy: invalid tolerance True"),
    ({"tolerances": {"attack_success_rate": None}}, "attack_success_rate: invalid tolerance None"),
    ({"confidence": 1.5}, "gate.confidence: invalid value 1.5"),
    ({"tolerance": {}}, "gate.tolerance: unknown field. Did you mean 'tolerances'?"),
])
def test_suite_gate_section_errors(gate, expected):
    with pytest.raises(SuiteError) as error:
        validate_suite(_suite(gate))
    assert expected in str(error.value)
