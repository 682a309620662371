"""Suite validation infers a task's file format from the suffix the task's docs promise."""

from __future__ import annotations

import pytest
import yaml

from harness.errors import SuiteError
from harness.suite import load_suite


def write_suite(folder, task_type: str, data_file: str) -> object:
    (folder / data_file).write_text("placeholder\n", encoding="utf-8")
    raw = {
        "name": "formats",
        "tasks": {"t": {"type": task_type, "data": {"source": "file", "path": data_file}}},
        "models": {"tiny": {"source": "random"}},
        "variants": {"baseline": {}},
        "attacks": ["deepwordbug"],
    }
    path = folder / "suite.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


@pytest.mark.parametrize(("task_type", "data_file"), [("relation-extraction", "rel.txt"), ("extractive-qa", "qa.json")])
def test_task_suffix_inferred(tmp_path, task_type, data_file):
    suite = load_suite(write_suite(tmp_path, task_type, data_file))

    assert suite.tasks["t"].data.format is None


@pytest.mark.parametrize(("task_type", "data_file"), [("classification", "reviews.txt"), ("ner", "tweets.json")])
def test_other_task_suffix_rejected(tmp_path, task_type, data_file):
    with pytest.raises(SuiteError) as caught:
        load_suite(write_suite(tmp_path, task_type, data_file))

    assert f"cannot infer the format of {data_file}" in str(caught.value)
    assert "semeval, squad or tsv" in str(caught.value)
