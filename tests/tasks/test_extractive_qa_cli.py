"""`rsbench run` end to end on an extractive QA suite with a tiny random model."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from harness.suite import load_suite
from tests.helpers import REPO

SUITE = """# rsbench run suite.yaml
name: tiny-qa
tasks:
  cloze:
    type: extractive-qa
    data:
      source: packaged
      name: news-cloze
      train_size: 40
      dev_size: 5
      test_size: 10
    settings:
      context_words: 60
      success_f1: 1.0
models:
  tiny-bert:
    source: random
    architecture: {num_hidden_layers: 1, hidden_size: 32, num_attention_heads: 2, intermediate_size: 64}
variants:
  baseline: {}
  kd: {teacher: self}
training:
  epochs: 1
  batch_size: 8
  learning_rate: 1.0e-3
  max_length: 96
attack:
  examples: 4
  query_budget: 30
attacks: [deepwordbug, addsent]
"""


def test_suite_file_validates():
    suite = load_suite(REPO / "suites" / "extractive-qa.yaml")
    assert suite.tasks["news-qa"].type == "extractive-qa"
    assert suite.task_settings("news-qa").context_words == 100


@pytest.mark.slow
def test_run_extractive_qa_end_to_end(tmp_path):
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE, encoding="utf-8")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "harness", "run", str(suite), "--out", str(out), "--no-progress", "--threads", "1"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "units: 6 computed, 0 already stored, 0 failed" in result.stdout

    board = json.loads((out / "leaderboard.json").read_text(encoding="utf-8"))
    units = board["units"]
    assert {(u["variant"], u["attack"]) for u in units} == {
        ("baseline", "deepwordbug"), ("baseline", "addsent"), ("kd", "deepwordbug"), ("kd", "addsent")}
    for unit in units:
        assert unit["task"] == "cloze"
        assert unit["dataset"] == "news-cloze"
        assert unit["attacked"] == 4
        assert unit["skipped"] + unit["succeeded"] + unit["failed"] == 4
        assert unit["dataset_generated"] is True
        assert {"clean.f1", "clean.exact_match", "robust.f1", "robust.exact_match"} <= set(unit["task_metrics"])

    with sqlite3.connect(out / "results.sqlite") as connection:
        rows = connection.execute("SELECT name, value FROM unit_metrics").fetchall()
    names = {name for name, _ in rows}
    assert {"clean.f1", "clean.exact_match", "robust.f1", "robust.exact_match", "attacked_clean.f1"} <= names
    assert all(value is None or 0.0 <= value <= 1.0 for _, value in rows)
    html = (out / "leaderboard.html").read_text(encoding="utf-8")
    assert "addsent" in html
    assert "news-cloze" in html
