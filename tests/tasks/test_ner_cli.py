"""`rsbench run` on a NER suite end to end: a tiny random BERT on a synthetic CoNLL file, stored metrics, leaderboard."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO
from tests.tasks.conftest import synthetic_sentences

SUITE = """# rsbench run suite.yaml
name: ner-tiny
tasks:
  people:
    type: ner
    data: {{source: file, path: {path}, test_fraction: 0.2, dev_fraction: 0.1}}
    settings: {{success_threshold: 0.9}}
models:
  tiny-bert:
    source: random
    architecture: {{num_hidden_layers: 2, hidden_size: 64, num_attention_heads: 2, intermediate_size: 128}}
variants:
  baseline: {{}}
  reg: {{rdrop_alpha: 0.5}}
training: {{epochs: 10, batch_size: 16, learning_rate: 3.0e-3, max_length: 32, warmup_ratio: 0.0}}
attack: {{examples: 8, query_budget: 60}}
attacks: [deepwordbug]
"""


def write_conll(path: Path, count: int) -> None:
    data = synthetic_sentences(count)
    blocks = ["\n".join(f"{word} {tag}" for word, tag in zip(words, tags)) for words, tags in zip(data.tokens, data.tags)]
    path.write_text("\n\n".join(blocks) + "\n", encoding="utf-8")


@pytest.mark.slow
def test_ner_suite_end_to_end(tmp_path):
    data = tmp_path / "people.conll"
    write_conll(data, 120)
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE.format(path=data.name), encoding="utf-8")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "harness", "run", str(suite), "--out", str(out), "--no-progress", "--threads", "1"]

    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=900)

    assert result.returncode == 0, result.stderr[-3000:]
    assert "units: 4 computed, 0 already stored, 0 failed" in result.stdout
    board = json.loads((out / "leaderboard.json").read_text(encoding="utf-8"))
    units = board["units"]
    assert {(unit["variant"], unit["attack"]) for unit in units} == {("baseline", "deepwordbug"), ("reg", "deepwordbug")}
    for unit in units:
        metrics = unit["task_metrics"]
        assert unit["task_type"] == "ner"
        assert unit["headline"] == "entity_f1"
        assert unit["dataset"] == "people.conll"
        assert unit["attacked"] == 8
        assert unit["skipped"] + unit["succeeded"] + unit["failed"] == 8
        assert metrics["clean.entity_f1"] > 0.8
        assert 0.0 <= metrics["robust.entity_f1"] <= metrics["attacked_clean.entity_f1"]
        assert "clean.f1.person" in metrics
    assert sum(unit["succeeded"] for unit in units) >= 1

    with sqlite3.connect(out / "results.sqlite") as connection:
        rows = connection.execute("SELECT details_json FROM attack_examples").fetchall()
    assert len(rows) == 16
    details = [json.loads(row[0]) for row in rows]
    for record in details:
        assert len(record["perturbed_words"]) == len(record["words"])
        for entity in record["gold_entities"]:
            assert record["perturbed_words"][entity["start"] : entity["end"]] == record["words"][entity["start"] : entity["end"]]

    html = (out / "leaderboard.html").read_text(encoding="utf-8")
    assert "entity" in html
    assert "person: " in html

    # The regression gate reads NER runs, whose examples store label -1, against their own baseline.
    baseline = tmp_path / "baseline.json"
    written = subprocess.run([sys.executable, "-m", "harness", "baseline", str(out), "-o", str(baseline)],
                             capture_output=True, text=True, cwd=REPO, timeout=300)
    assert written.returncode == 0, written.stderr[-3000:]
    compared = subprocess.run([sys.executable, "-m", "harness", "compare", str(out), "--baseline", str(baseline)],
                              capture_output=True, text=True, cwd=REPO, timeout=300)
    assert compared.returncode == 0, compared.stderr[-3000:]
    assert "PASSED: no regression" in compared.stdout
