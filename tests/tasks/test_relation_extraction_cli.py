"""`rsbench run` on a relation-extraction suite: a tiny random model, stored task metrics, the leaderboard."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from tests.helpers import REPO

SUITE = """# rsbench run suite.yaml
name: tiny-relations
tasks:
  relations:
    type: relation-extraction
    data: {source: packaged, name: wordnet-relations, train_size: 96, dev_size: 12, test_size: 36, split_seed: 1}
models:
  tiny-bert:
    source: random
    architecture: {num_hidden_layers: 1, hidden_size: 32, num_attention_heads: 2, intermediate_size: 64}
variants:
  baseline: {}
  adv-a2t: {attack: deepwordbug, fraction: 0.25, start_epoch: 1, query_budget: 30}
training: {epochs: 2, batch_size: 16, learning_rate: 3.0e-3, max_length: 48}
attack: {examples: 6, query_budget: 60}
attacks: [deepwordbug, pwws]
"""


@pytest.mark.slow
def test_relation_suite_runs_end_to_end(tmp_path):
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE, encoding="utf-8")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "harness", "run", str(suite), "--out", str(out), "--no-progress", "--threads", "1"]

    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=900)

    assert result.returncode == 0, result.stderr[-3000:]
    assert "units: 6 computed, 0 already stored, 0 failed" in result.stdout
    board = json.loads((out / "leaderboard.json").read_text(encoding="utf-8"))
    units = board["units"]
    assert {(unit["variant"], unit["attack"]) for unit in units} == {
        ("baseline", "deepwordbug"), ("baseline", "pwws"), ("adv-a2t", "deepwordbug"), ("adv-a2t", "pwws")}
    for unit in units:
        assert unit["task"] == "relations"
        assert unit["dataset"] == "wordnet-relations"
        assert unit["attacked"] == 6
        assert unit["skipped"] + unit["succeeded"] + unit["failed"] == 6

    with sqlite3.connect(out / "results.sqlite") as connection:
        names = {name for (name,) in connection.execute("SELECT DISTINCT name FROM unit_metrics")}
        details = [json.loads(text) for (text,) in connection.execute(
            "SELECT details_json FROM attack_examples WHERE details_json IS NOT NULL")]
        texts = connection.execute("SELECT original_text, perturbed_text FROM attack_examples").fetchall()
    assert {"clean.accuracy", "clean.macro_f1_excl_other", "robust.macro_f1_excl_other",
            "attacked_clean.macro_f1_excl_other"} <= names
    assert len(details) == 4 * 6
    assert all({"e1", "e2", "gold", "original_prediction", "perturbed_prediction"} <= set(detail) for detail in details)
    for original, perturbed in texts:
        for marker in ("<e1>", "</e1>", "<e2>", "</e2>"):
            assert perturbed.count(marker) == 1
        assert original.split("<e1>")[1].split("</e1>")[0] == perturbed.split("<e1>")[1].split("</e1>")[0]
        assert original.split("<e2>")[1].split("</e2>")[0] == perturbed.split("<e2>")[1].split("</e2>")[0]

    html = (out / "leaderboard.html").read_text(encoding="utf-8")
    assert "macro-F1 (excl. Other)" in html
    assert "generated" in html
    assert "&lt;e1&gt;" in html
