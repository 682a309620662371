"""Model loading stays safe by default: no pickle weights and no model code unless a suite opts in."""

from __future__ import annotations

import json
import logging

import pytest
import torch

from harness.errors import RsbenchError
from harness.execution.plan import build_plan
from harness.models import load_classifier
from harness.suite import ModelSpec, validate_suite

LABELS = ("neg", "pos")
TINY = {"num_hidden_layers": 1, "hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64}
# Written into the model folder; importing it leaves a marker file next to it.
REMOTE_CODE = """
from pathlib import Path
Path(__file__).with_name("REMOTE_CODE_RAN").write_text("yes")
from transformers import BertConfig
class EvilConfig(BertConfig):
    model_type = "evil-bert"
"""


@pytest.fixture
def pickled_folder(tmp_path):
    model, tokenizer = load_classifier(ModelSpec(source="random", architecture=TINY), LABELS, seed=3)
    folder = tmp_path / "pickled"
    model.save_pretrained(folder, safe_serialization=False)
    tokenizer.save_pretrained(folder)
    assert (folder / "pytorch_model.bin").is_file()
    assert not (folder / "model.safetensors").exists()
    return folder, model


def test_pickle_rejected_by_default(pickled_folder):
    folder, _ = pickled_folder
    assert ModelSpec(source="local", path=folder).allow_pickle is False
    with pytest.raises(RsbenchError, match="only safetensors weights are accepted .set allow_pickle: true"):
        load_classifier(ModelSpec(source="local", path=folder), LABELS, seed=0)


def test_pickle_loads_with_opt_in_and_warns(pickled_folder, caplog):
    folder, saved = pickled_folder
    with caplog.at_level(logging.WARNING, logger="harness.models"):
        model, _ = load_classifier(ModelSpec(source="local", path=folder, allow_pickle=True), LABELS, seed=0)
    assert "allow_pickle is set" in caplog.text
    weight = "bert.encoder.layer.0.attention.self.query.weight"
    assert torch.equal(model.state_dict()[weight], saved.state_dict()[weight])


def _suite(model: dict) -> dict:
    return {"name": "pickle", "tasks": {"t": {"type": "classification", "data": {"source": "packaged", "name": "rotten-tomatoes"}}},
            "models": {"m": model}, "variants": {"baseline": {}}}


def test_allow_pickle_keys_only_when_set(pickled_folder):
    folder, _ = pickled_folder
    plain = build_plan(validate_suite(_suite({"source": "local", "path": str(folder)})))
    opted = build_plan(validate_suite(_suite({"source": "local", "path": str(folder), "allow_pickle": True})))
    assert "allow_pickle" not in plain.units[0].config["model"]
    assert opted.units[0].config["model"]["allow_pickle"] is True
    assert "pytorch_model.bin" in opted.units[0].config["model"]["sha256"]
    assert plain.units[0].key != opted.units[0].key


def _remote_code_folder(tmp_path, model_type: str):
    model, tokenizer = load_classifier(ModelSpec(source="random", architecture=TINY), LABELS, seed=0)
    folder = tmp_path / f"remote-{model_type}"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / "evil.py").write_text(REMOTE_CODE, encoding="utf-8")
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config["model_type"] = model_type
    config["auto_map"] = {"AutoConfig": "evil.EvilConfig", "AutoModelForSequenceClassification": "evil.EvilModel"}
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


def test_remote_code_rejected_by_default(tmp_path):
    folder = _remote_code_folder(tmp_path, "evil-bert")
    assert ModelSpec(source="local", path=folder).trust_remote_code is False
    with pytest.raises(RsbenchError, match="needs its own Python code, and trust_remote_code is off"):
        load_classifier(ModelSpec(source="local", path=folder), LABELS, seed=0)
    assert not (folder / "REMOTE_CODE_RAN").exists()


def test_known_type_ignores_remote_code(tmp_path):
    folder = _remote_code_folder(tmp_path, "bert")
    model, _ = load_classifier(ModelSpec(source="local", path=folder), LABELS, seed=0)
    assert type(model).__name__ == "BertForSequenceClassification"
    assert not (folder / "REMOTE_CODE_RAN").exists()
