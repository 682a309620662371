"""The suite's `validity:` section."""

from __future__ import annotations

import pytest
import yaml

from harness.errors import SuiteError
from harness.suite import validate_suite
from harness.validity.params import ValidityParams
from tests.helpers import REPO


def smoke_with(validity) -> dict:
    raw = yaml.safe_load((REPO / "suites" / "smoke.yaml").read_text(encoding="utf-8"))
    raw["validity"] = validity
    return raw


def test_defaults():
    params = validate_suite(smoke_with({})).validity
    assert params == ValidityParams()
    assert params.min_similarity == 0.8
    assert params.max_perplexity_ratio == 2.0
    assert params.fluency_model == "smollm2"


def test_settings_read():
    params = validate_suite(smoke_with({"min_similarity": 0.9, "max_perplexity_ratio": 1.5, "fluency_model": "none"})).validity
    assert params.thresholds() == {"min_similarity": 0.9, "max_perplexity_ratio": None, "fluency_model": "none"}


def test_invalid_settings_named():
    with pytest.raises(SuiteError) as caught:
        validate_suite(smoke_with({"min_similarity": 1.5, "max_perplexity_ratio": 0, "fluency_model": "gpt2", "min_similarty": 0.3}))
    problems = caught.value.problems
    assert any(problem.startswith("validity.min_similarity: invalid value 1.5") for problem in problems)
    assert any(problem.startswith("validity.max_perplexity_ratio: invalid value 0") for problem in problems)
    assert any(problem.startswith("validity.fluency_model: invalid value 'gpt2'") for problem in problems)
    assert any("validity.min_similarty: unknown field. Did you mean 'min_similarity'?" in problem for problem in problems)
