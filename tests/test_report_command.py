"""`rsbench report` builds the intervals, aggregates and comparisons from an existing results database."""

from __future__ import annotations

import dataclasses
import json

import pytest

from harness.cli.main import main
from harness.results import RESULTS_FILE
from harness.store import Store
from tests.test_store import _METRICS, _unit

_TRAIN = {"clean_accuracy": 0.8, "clean_macro_f1": 0.79, "train_examples": 10, "test_examples": 5, "train_seconds": 60.0,
          "train_examples_per_second": 10.0, "eval_examples_per_second": 50.0, "final_loss": 0.3, "checkpoint": "c"}


def _examples(robust: int, total: int) -> list[dict]:
    return [{"idx": index, "original_text": f"text {index}", "perturbed_text": f"text {index}!", "label": 1,
             "original_prediction": 1, "perturbed_prediction": 1 if index < robust else 0,
             "outcome": "failed" if index < robust else "succeeded", "words_changed": 0 if index < robust else 1,
             "words_total": 2, "perturbed_word_fraction": 0.0 if index < robust else 0.5, "model_evaluations": 3,
             "queries": 4} for index in range(total)]


def _store(out_dir):
    """Two seeds of a baseline named 'plain' (kind baseline) and an 'adv' variant that trains twice as long."""
    with Store(out_dir / RESULTS_FILE) as store:
        for seed in (0, 1):
            for variant, kind, robust, seconds in (("plain", "baseline", 5, 60.0), ("adv", "adv", 15, 120.0)):
                train = dataclasses.replace(_unit(f"t-{variant}-{seed}", "train"), variant=variant, variant_kind=kind,
                                            seed=seed)
                attack = dataclasses.replace(_unit(f"a-{variant}-{seed}"), variant=variant, variant_kind=kind,
                                             seed=seed, train_key=train.key)
                store.record_train(train, {**_TRAIN, "train_seconds": seconds}, manifest={}, finished_at="t",
                                   wall_seconds=1.0)
                metrics = {**_METRICS, "attacked": 20, "skipped": 0, "succeeded": 20 - robust, "failed": robust,
                           "robust_accuracy": robust / 20}
                store.record_attack(attack, metrics, _examples(robust, 20), manifest={}, finished_at="t",
                                    wall_seconds=1.0)
        store.set_meta("suite", "stored")


def test_report_adds_analysis(tmp_path, capsys):
    _store(tmp_path)

    assert main(["report", str(tmp_path)]) == 0
    document = json.loads((tmp_path / "leaderboard.json").read_text(encoding="utf-8"))
    assert len(document["unit_intervals"]) == 4
    adv = next(entry for entry in document["aggregates"] if entry["variant"] == "adv")
    assert adv["seeds"] == [0, 1]
    assert adv["robust_accuracy"]["mean"] == pytest.approx(0.75)
    [comparison] = document["comparisons"]
    assert (comparison["variant"], comparison["reference_variant"]) == ("adv", "plain")
    assert comparison["difference"] == pytest.approx(0.5)
    assert comparison["excludes_zero"] is True
    assert comparison["gain_per_extra_training_minute"] == pytest.approx(0.5)
    html = (tmp_path / "leaderboard.html").read_text(encoding="utf-8")
    assert 'id="aggregate-table"' in html
    assert "▲ excludes 0" in html
