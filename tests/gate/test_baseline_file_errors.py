"""Hostile baseline files: each is rejected with the harness's own message, never a traceback."""

import json

import pytest

from harness.errors import RsbenchError
from harness.gate.document import load_snapshot_file
from harness.gate.snapshot import text_sha256


def _document(robust_accuracy) -> dict:
    unit = {
        "unit_key": "k1", "train_key": "t1", "task": "sentiment", "dataset": "rotten-tomatoes", "model": "tiny-bert",
        "variant": "baseline", "attack": "deepwordbug", "seed": 0, "status": "done", "error": None,
        "metrics": {"clean_accuracy": 0.5, "clean_macro_f1": 0.5, "robust_accuracy": robust_accuracy,
                    "attack_success_rate": 0.0},
        "example_outcomes": [{"index": 0, "text_sha256": text_sha256("a text"), "label": 0, "outcome": "failed",
                              "clean_correct": 1, "robust_correct": 1}],
    }
    return {"format": "rsbench-baseline", "schema_version": 1, "suite": "smoke", "created_at": "2026-01-01T00:00:00+00:00",
            "source": "reports/smoke", "manifest": {}, "units": [unit]}


def _load_error(path) -> str:
    with pytest.raises(RsbenchError) as caught:
        load_snapshot_file(path)
    return str(caught.value)


def test_valid_document_loads(tmp_path):
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(_document(1.0)), encoding="utf-8")
    snapshot = load_snapshot_file(path)
    assert snapshot.units[0].metrics["robust_accuracy"] == 1.0


@pytest.mark.parametrize(("value", "shown"), [
    (10**400, "got 100000000000000000...0000000000000000000"),
    (1e308, "got 1e+308"),
    (-5, "got -5"),
    (1.5, "got 1.5"),
    (True, "got True"),
])
def test_gated_metric_outside_unit_interval(tmp_path, value, shown):
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(_document(value)), encoding="utf-8")
    error = _load_error(path)
    assert error.startswith(f"--baseline {path}: does not match the schema")
    assert "robust_accuracy must be null or a number in [0, 1]" in error
    assert shown in error


def test_integer_with_too_many_digits(tmp_path):
    path = tmp_path / "baseline.json"
    text = json.dumps(_document(0.5)).replace('"robust_accuracy": 0.5', '"robust_accuracy": ' + "9" * 5000)
    path.write_text(text, encoding="utf-8")
    error = _load_error(path)
    assert f"--baseline {path}: cannot be parsed as JSON (Exceeds the limit (4300 digits)" in error
    assert "write it again with `rsbench baseline`" in error


def test_deeply_nested_arrays(tmp_path):
    path = tmp_path / "baseline.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    assert _load_error(path) == (f"--baseline {path}: cannot be parsed as JSON (nested too deeply). "
                                 "Restore the file or write it again with `rsbench baseline`.")


def test_folder_in_place_of_file(tmp_path):
    folder = tmp_path / "baseline.json"
    folder.mkdir()
    assert _load_error(folder) == (f"--baseline {folder}: is a folder. Pass a baseline file such as baseline.json, "
                                   "or a run's leaderboard.json.")


def test_outcome_label_minus_one_accepted():
    from pydantic import ValidationError

    from harness.gate.document import ExampleOutcome

    fields = {"index": 0, "text_sha256": "0" * 64, "outcome": "skipped", "clean_correct": 0, "robust_correct": 0}
    # NER and QA examples have no single class and store label -1.
    assert ExampleOutcome(label=-1, **fields).label == -1
    with pytest.raises(ValidationError):
        ExampleOutcome(label=-2, **fields)
