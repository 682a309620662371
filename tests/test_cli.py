import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli.main import main
from tests.helpers import REPO, tiny_suite_text


def _csv_block(path: Path) -> str:
    return f"      source: file\n      path: {path}\n      text_column: review\n      label_column: sentiment"


def test_list_does_not_import_torch_or_textattack():
    code = ("import sys; from harness.cli.main import main; main(['list', 'attacks']); main(['list', 'variants']);"
            " main(['list', 'tasks']); print(sorted(m for m in ('torch', 'textattack', 'transformers') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert result.stdout.strip().splitlines()[-1] == "[]"
    assert "textfooler-offline" in result.stdout
    assert "offline approximation" in result.stdout


def test_invalid_suite_exits_2_and_writes_nothing(tmp_path, capsys):
    suite = tmp_path / "bad.yaml"
    suite.write_text(tiny_suite_text(_csv_block(tmp_path / "missing.csv"), attacks="[deepwordbog]", variants="advv: {}"), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(suite), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert "3 problem(s)" in error or "problem(s)" in error
    assert "Did you mean 'deepwordbug'" in error
    assert "variants.advv" in error
    assert "missing.csv" in error
    assert not out.exists()


def test_bad_data_exits_2_and_writes_nothing(tmp_path, capsys):
    data = tmp_path / "one-class.csv"
    data.write_text("review,sentiment\n" + "".join(f"text {i},pos\n" for i in range(20)), encoding="utf-8")
    suite = tmp_path / "suite.yaml"
    suite.write_text(tiny_suite_text(_csv_block(data)), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(suite), "--out", str(out)]) == 2
    assert "only one label ('pos')" in capsys.readouterr().err
    assert not out.exists()


def test_report_on_missing_folder_exits_2(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nothing")]) == 2
    assert "no results database" in capsys.readouterr().err


@pytest.mark.slow
def test_run_end_to_end_and_rerun_reuses(tmp_path, sentiment_csv):
    suite = tmp_path / "suite.yaml"
    suite.write_text(tiny_suite_text(_csv_block(sentiment_csv), variants="baseline: {}\n  kd: {teacher: self}", examples=4), encoding="utf-8")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "harness", "run", str(suite), "--out", str(out), "--no-progress", "--threads", "1"]
    first = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=600)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "units: 4 computed, 0 already stored, 0 failed" in first.stdout

    board = json.loads((out / "leaderboard.json").read_text(encoding="utf-8"))
    units = board["units"]
    assert {(u["variant"], u["attack"]) for u in units} == {("baseline", "deepwordbug"), ("kd", "deepwordbug")}
    for unit in units:
        assert unit["task"] == "sentiment"
        assert unit["dataset"] == "reviews.csv"
        assert unit["seed"] == 0
        assert unit["robust_accuracy"] <= (unit["attacked"] - unit["skipped"]) / unit["attacked"]
        assert 0.0 <= unit["attack_success_rate"] <= 1.0
        assert unit["attacked"] == 4
        assert unit["skipped"] + unit["succeeded"] + unit["failed"] == 4
        assert unit["robust_accuracy"] == pytest.approx(unit["failed"] / 4)
        # Counting only valid attacks can only raise robust accuracy, up to the share not skipped.
        assert unit["robust_accuracy"] <= unit["robust_accuracy_valid"] <= (4 - unit["skipped"]) / 4
        assert unit["train_peak_rss_bytes"] > 2**20
        assert unit["attack_peak_rss_bytes"] > 2**20
        assert unit["train_peak_gpu_bytes"] is None
    if any(unit["succeeded"] for unit in units):
        assert "validity: scored" in first.stdout
    html = (out / "leaderboard.html").read_text(encoding="utf-8")
    assert "deepwordbug" in html
    assert "<svg" in html
    assert list((out / "checkpoints").glob("*/model.safetensors"))

    second = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=600)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "units: 0 computed, 4 already stored, 0 failed" in second.stdout
    assert json.loads((out / "leaderboard.json").read_text(encoding="utf-8"))["units"] == units

    # A stored training unit whose checkpoint was deleted is trained again.
    shutil.rmtree(next((out / "checkpoints").iterdir()))
    third = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=600)
    assert third.returncode == 0, third.stderr[-3000:]
    assert "units: 1 computed, 3 already stored, 0 failed" in third.stdout


def test_second_run_on_locked_folder_exits_2(tmp_path, sentiment_csv, capsys):
    import fcntl

    suite = tmp_path / "suite.yaml"
    suite.write_text(tiny_suite_text(_csv_block(sentiment_csv)), encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    with (out / ".rsbench.lock").open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        assert main(["run", str(suite), "--out", str(out)]) == 2
    assert "another rsbench run is using this folder" in capsys.readouterr().err
    assert not (out / "results.sqlite").exists()
