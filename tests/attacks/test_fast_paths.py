"""The attack's fast paths (prefetching, bf16 autocast) against the plain ones."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.attacks.runner import run_attack
from harness.attacks.wrapper import DynamicPaddingWrapper
from harness.training.loop import predict


@pytest.mark.parametrize("attack_name", ["deepwordbug", "pwws", "textfooler-offline"])
def test_prefetch_keeps_every_outcome(classifier, tokenizer, examples, attack_name):
    plain, plain_summary = run_attack(classifier, tokenizer, attack_name, examples, query_budget=60, progress=False,
                                      prefetch=False)
    fast, fast_summary = run_attack(classifier, tokenizer, attack_name, examples, query_budget=60, progress=False,
                                    prefetch=True)

    assert [r.outcome for r in fast] == [r.outcome for r in plain]
    assert [r.perturbed_text for r in fast] == [r.perturbed_text for r in plain]
    assert [r.queries for r in fast] == [r.queries for r in plain]
    assert [r.model_evaluations for r in fast] == [r.model_evaluations for r in plain]
    assert fast_summary.succeeded == plain_summary.succeeded
    assert plain_summary.succeeded + plain_summary.failed >= 1, "the attack should search at least one example"


def test_prefetch_respects_query_budget(classifier, tokenizer, examples):
    plain, _ = run_attack(classifier, tokenizer, "deepwordbug", examples, query_budget=3, progress=False, prefetch=False)
    fast, _ = run_attack(classifier, tokenizer, "deepwordbug", examples, query_budget=3, progress=False, prefetch=True)

    assert [r.outcome for r in fast] == [r.outcome for r in plain]
    assert [r.model_evaluations for r in fast] == [r.model_evaluations for r in plain]
    assert max(r.queries for r in fast) <= 3


def test_prefetched_text_counts_when_requested(classifier, tokenizer, examples):
    wrapper = DynamicPaddingWrapper(classifier, tokenizer, batch_size=4)
    wrapper.prefetch(list(examples.texts[:3]))
    assert wrapper.model_evaluations == 0
    assert wrapper.prefetched_unused == 3

    wrapper([examples.texts[0], examples.texts[0], examples.texts[3]])
    assert wrapper.model_evaluations == 2
    assert wrapper.cache_hits == 1
    assert wrapper.prefetched_unused == 2

    wrapper([examples.texts[0]])
    assert wrapper.model_evaluations == 2
    assert wrapper.cache_hits == 2


def test_wrapper_counts_forward_tokens(classifier, tokenizer, examples):
    wrapper = DynamicPaddingWrapper(classifier, tokenizer, batch_size=4)
    texts = list(examples.texts[:6])
    wrapper(texts)
    expected = sorted(len(ids) for ids in tokenizer(texts)["input_ids"])
    assert sorted(wrapper.forward_token_counts) == expected
    assert wrapper.forward_seconds > 0


def test_bf16_logits_near_fp32(classifier, tokenizer, examples):
    texts = list(examples.texts)
    fp32 = DynamicPaddingWrapper(classifier, tokenizer)(texts)
    bf16 = DynamicPaddingWrapper(classifier, tokenizer, precision="bf16")(texts)
    assert bf16.dtype == np.float32
    assert not np.array_equal(bf16, fp32), "bf16 autocast should change the rounding"
    np.testing.assert_allclose(bf16, fp32, atol=0.1, rtol=0)


def test_wrapper_rejects_unknown_precision(classifier, tokenizer):
    with pytest.raises(ValueError, match="precision must be one of fp32, bf16, got 'fp16'"):
        DynamicPaddingWrapper(classifier, tokenizer, precision="fp16")


def test_predict_bf16_matches_fp32(classifier, tokenizer, examples):
    arguments = {"batch_size": 8, "max_length": 32, "device": torch.device("cpu"), "progress": False}
    fp32, _ = predict(classifier, tokenizer, examples.texts, **arguments)
    bf16, _ = predict(classifier, tokenizer, examples.texts, precision="bf16", **arguments)
    np.testing.assert_array_equal(bf16, fp32)


def test_attack_bf16_runs_and_reports_model_work(classifier, tokenizer, examples):
    records, summary = run_attack(classifier, tokenizer, "deepwordbug", examples, query_budget=30, progress=False,
                                  precision="bf16")
    assert len(records) == len(examples)
    assert summary.model_forward_seconds > 0
    assert summary.model_gflop > 0


def test_cls_logits_match_full_forward(classifier, tokenizer, examples):
    from harness.cls_forward import cls_logits, supports_cls_logits

    assert supports_cls_logits(classifier)
    for texts in (list(examples.texts[:1]), list(examples.texts)):
        encoded = dict(tokenizer(texts, padding=True, return_tensors="pt"))
        with torch.inference_mode():
            full = classifier(**encoded).logits
            first_token = cls_logits(classifier, encoded)
        torch.testing.assert_close(first_token, full, atol=1e-5, rtol=0)


def test_cls_logits_not_used_in_training_mode(classifier):
    from harness.cls_forward import supports_cls_logits

    classifier.train()
    try:
        assert not supports_cls_logits(classifier)
    finally:
        classifier.eval()
