"""`rsbench run` end to end on the three generation tasks with a tiny random causal LM."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from harness.suite import load_suite
from tests.helpers import REPO

SUITE = """# rsbench run suite.yaml
name: tiny-generation
tasks:
  mt:
    type: translation
    data: {source: file, path: pairs.tsv, test_size: 4}
    settings: {decoding: {max_new_tokens: 6}, max_source_tokens: 24, max_target_tokens: 12}
    attacks: [seq2seq-chars]
  headlines:
    type: summarization
    data: {source: packaged, name: news-headlines, train_size: 16, test_size: 4}
    settings: {document_words: 20, decoding: {max_new_tokens: 6}, max_source_tokens: 40, max_target_tokens: 12}
    attacks: [seq2seq-wordnet]
  chat:
    type: dialogue
    data: {source: packaged, name: chitchat, train_size: 16, test_size: 4}
    settings: {decoding: {max_new_tokens: 6}, max_source_tokens: 32, max_target_tokens: 12}
    attacks: [nonoverlap-wordnet]
models:
  tiny-llama:
    source: random
    tokenizer: SmolLM2-135M-Instruct
    architecture: {num_hidden_layers: 1, hidden_size: 32, num_attention_heads: 2, intermediate_size: 64}
variants:
  baseline: {}
  kd: {teacher: self}
training:
  epochs: 1
  batch_size: 4
  learning_rate: 1.0e-3
  max_length: 64
attack:
  examples: 2
  query_budget: 12
attacks: [seq2seq-chars, seq2seq-wordnet, nonoverlap-wordnet]
"""

PAIRS = "source\ttarget\n" + "\n".join(f"the {animal} eats {food}\tel {animal} come {food}" for animal in ("cat", "dog", "horse", "bird")
                  for food in ("bread", "fish", "rice", "apples", "grass"))


def test_embedded_suite_validates():
    suite = load_suite(REPO / "suites" / "embedded-generation.yaml")
    assert {spec.type for spec in suite.tasks.values()} == {"translation", "summarization", "dialogue"}
    assert suite.attack_for("bible-mt").examples == 4


@pytest.mark.slow
def test_run_generation_end_to_end(tmp_path):
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE, encoding="utf-8")
    (tmp_path / "pairs.tsv").write_text(PAIRS + "\n", encoding="utf-8")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "harness", "run", str(suite), "--out", str(out), "--no-progress", "--threads", "1"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "units: 12 computed, 0 already stored, 0 failed" in result.stdout

    board = json.loads((out / "leaderboard.json").read_text(encoding="utf-8"))
    units = board["units"]
    expected = {"mt": ("seq2seq-chars", {"bleu", "chrf"}), "headlines": ("seq2seq-wordnet", {"rouge1", "rouge2", "rougeL"}),
                "chat": ("nonoverlap-wordnet", {"bleu", "token_f1", "distinct_1", "distinct_2"})}
    assert {(unit["task"], unit["variant"]) for unit in units} == {(task, variant) for task in expected for variant in ("baseline", "kd")}
    for unit in units:
        attack, metrics = expected[unit["task"]]
        assert unit["attack"] == attack
        assert unit["attacked"] == 2
        assert unit["skipped"] + unit["succeeded"] + unit["failed"] == 2
        names = set(unit["task_metrics"])
        assert {f"clean.{name}" for name in metrics} <= names
        assert {f"robust.{name}" for name in metrics} <= names

    with sqlite3.connect(out / "results.sqlite") as connection:
        rows = connection.execute("SELECT name, value FROM unit_metrics").fetchall()
        details = [json.loads(text) for (text,) in connection.execute("SELECT details_json FROM attack_examples")]
    assert all(value is None or 0.0 <= value <= 1.0 for _, value in rows)
    assert details and all({"source", "reference", "original_output", "perturbed_output"} <= set(item) for item in details)
    html = (out / "leaderboard.html").read_text(encoding="utf-8")
    assert "seq2seq-chars" in html
    assert "news-headlines" in html

    rerun = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "units: 0 computed, 12 already stored, 0 failed" in rerun.stdout


TSV_SUMMARIZATION_SUITE = """name: tsv-summarization
tasks:
  news:
    type: summarization
    data: {source: file, path: pairs.tsv}
    attacks: [seq2seq-wordnet]
models:
  tiny-llama:
    source: random
    tokenizer: SmolLM2-135M-Instruct
    architecture: {num_hidden_layers: 1, hidden_size: 32, num_attention_heads: 2, intermediate_size: 64}
variants:
  baseline: {}
attacks: [seq2seq-wordnet]
"""


def test_run_rejects_tsv_summarization_file(tmp_path):
    suite = tmp_path / "suite.yaml"
    suite.write_text(TSV_SUMMARIZATION_SUITE, encoding="utf-8")
    (tmp_path / "pairs.tsv").write_text("document\tsummary\n" + "a long document here\tshort\n" * 10, encoding="utf-8")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "harness", "run", str(suite), "--out", str(out), "--no-progress", "--threads", "1"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 2, result.stderr[-3000:]
    assert "tasks.news.data.format: summarization reads jsonl files" in result.stderr
    assert "Convert the file to jsonl and set format: jsonl." in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()
