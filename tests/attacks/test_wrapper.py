"""DynamicPaddingWrapper: logits equal to a padded forward pass, counters, mode handling."""

from __future__ import annotations

import numpy as np
import torch

from harness.attacks.wrapper import DynamicPaddingWrapper


def reference_logits(model, tokenizer, texts, max_length=128):
    batch = tokenizer(texts, padding="max_length", truncation=True, max_length=max_length, return_tensors="pt")
    with torch.no_grad():
        return model(**batch).logits.numpy()


def test_wrapper_logits_match_padded_forward(classifier, tokenizer, examples):
    texts = list(examples.texts)
    wrapper = DynamicPaddingWrapper(classifier, tokenizer, batch_size=5)
    logits = wrapper(texts)
    assert logits.shape == (len(texts), 2)
    np.testing.assert_allclose(logits, reference_logits(classifier, tokenizer, texts), atol=1e-5, rtol=0)


def test_wrapper_counts_evaluations_and_hits(classifier, tokenizer, examples):
    wrapper = DynamicPaddingWrapper(classifier, tokenizer, batch_size=4)
    first = wrapper([examples.texts[0], examples.texts[1], examples.texts[0]])
    assert wrapper.model_evaluations == 2
    assert wrapper.cache_hits == 1
    second = wrapper([examples.texts[1], examples.texts[2]])
    assert wrapper.model_evaluations == 3
    assert wrapper.cache_hits == 2
    np.testing.assert_array_equal(first[1], second[0])
    np.testing.assert_array_equal(first[0], first[2])


def test_wrapper_keeps_input_order(classifier, tokenizer):
    texts = ["a much longer sentence than the others in this call", "short", "medium length text"]
    wrapper = DynamicPaddingWrapper(classifier, tokenizer)
    together = wrapper(texts)
    one_by_one = np.stack([DynamicPaddingWrapper(classifier, tokenizer)([text])[0] for text in texts])
    np.testing.assert_allclose(together, one_by_one, atol=1e-5, rtol=0)


def test_wrapper_truncates_to_max_length(classifier, tokenizer):
    text = " ".join(["good"] * 300)
    wrapper = DynamicPaddingWrapper(classifier, tokenizer, max_length=16)
    np.testing.assert_allclose(wrapper([text]), reference_logits(classifier, tokenizer, [text], max_length=16), atol=1e-5)


def test_wrapper_restores_training_mode(classifier, tokenizer):
    classifier.train()
    try:
        DynamicPaddingWrapper(classifier, tokenizer)(["fine"])
        assert classifier.training
    finally:
        classifier.eval()


def test_wrapper_empty_call(classifier, tokenizer):
    wrapper = DynamicPaddingWrapper(classifier, tokenizer)
    assert wrapper([]).shape == (0, 2)
    assert wrapper.model_evaluations == 0
