import csv
import itertools
import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from harness.cli.main import main
from tests.helpers import REPO

GOOD = ("good", "great", "wonderful", "excellent", "lovely", "superb", "fine", "pleasant")
BAD = ("bad", "awful", "terrible", "horrible", "poor", "dreadful", "boring", "ugly")
SUBJECTS = ("the movie", "this film", "the acting", "the plot", "the script", "the ending", "the cast", "the music")
TEMPLATES = ("{subject} was {word}", "{subject} was really {word} overall", "i thought {subject} was {word}")


def _suite(data: str, reg: str) -> str:
    # A query budget of 3 stops DeepWordBug before it has ranked the words of a text, so
    # every attack fails and robust accuracy equals accuracy on the attacked sample. A
    # weight decay of 1000 (AdamW, learning rate 3e-3) drives every weight to zero, so the
    # broken reg model predicts one class.
    return f"""# rsbench run suite.yaml
name: gate-e2e
tasks:
  sentiment:
    type: classification
    data: {{source: file, path: {data}, text_column: review, label_column: sentiment}}
models:
  tiny-bert:
    source: random
    architecture: {{num_hidden_layers: 1, hidden_size: 32, num_attention_heads: 2, intermediate_size: 64}}
variants:
  baseline: {{}}
  reg: {reg}
training: {{epochs: 3, batch_size: 16, learning_rate: 3.0e-3, max_length: 32}}
attack: {{examples: 30, query_budget: 3}}
attacks: [deepwordbug]
"""


@pytest.mark.slow
def test_gate_passes_own_baseline_and_fails_broken_training(tmp_path, capsys):
    data = tmp_path / "reviews.csv"
    with data.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["review", "sentiment"])
        for subject, template in itertools.product(SUBJECTS, TEMPLATES):
            writer.writerows((template.format(subject=subject, word=word), "pos") for word in GOOD)
            writer.writerows((template.format(subject=subject, word=word), "neg") for word in BAD)
    normal_suite, broken_suite = tmp_path / "normal.yaml", tmp_path / "broken.yaml"
    normal_suite.write_text(_suite(data.name, "{}"), encoding="utf-8")
    broken_suite.write_text(_suite(data.name, "{weight_decay: 1000.0}"), encoding="utf-8")
    normal, broken = tmp_path / "normal", tmp_path / "broken"
    for suite, out in ((normal_suite, normal), (broken_suite, broken)):
        command = [sys.executable, "-m", "harness", "run", str(suite), "--out", str(out), "--no-progress", "--threads", "1"]
        result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]

    baseline = tmp_path / "baseline.json"
    assert main(["baseline", str(normal), "-o", str(baseline)]) == 0
    assert "2 units, 60 attacked examples" in capsys.readouterr().out

    assert main(["compare", str(normal), "--baseline", str(baseline), "--junit", str(tmp_path / "same.xml")]) == 0
    assert "PASSED: no regression in 2 unit(s) of suite gate-e2e." in capsys.readouterr().out
    assert ET.parse(tmp_path / "same.xml").getroot().find("testsuite").get("failures") == "0"

    # The leaderboard of the normal run works as a baseline too.
    assert main(["compare", str(normal), "--baseline", str(normal / "leaderboard.json")]) == 0

    junit, report = tmp_path / "broken.xml", tmp_path / "broken.json"
    assert main(["compare", str(broken), "--baseline", str(baseline), "--junit", str(junit), "--json", str(report)]) == 1
    cases = {case.get("name"): case for case in ET.parse(junit).getroot().iter("testcase")}
    assert cases["sentiment/tiny-bert/baseline/deepwordbug/seed 0"].find("failure") is None
    failure = cases["sentiment/tiny-bert/reg/deepwordbug/seed 0"].find("failure")
    assert failure is not None
    assert "robust_accuracy regressed" in failure.get("message")

    units = {unit["variant"]: unit for unit in json.loads(report.read_text(encoding="utf-8"))["units"]}
    assert units["baseline"]["unit_keys_match"] is True
    assert units["reg"]["unit_keys_match"] is False
    robust = {metric["metric"]: metric for metric in units["reg"]["metrics"]}["robust_accuracy"]
    assert robust["baseline"] >= 0.9
    assert robust["current"] <= 0.7
    assert robust["interval"]["high"] < 0
    assert robust["interval"]["method"] == "paired BCa bootstrap"
