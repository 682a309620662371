"""Perplexity scorer against a manual computation on a tiny random Llama."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from harness.validity.scorers import PerplexityScorer, context_token_id, perplexity_ratio

TEXTS = [
    "the movie was great",
    "an utterly tedious, overlong and joyless exercise in style over substance",
    "ok",
    "a wonderful cast wasted on a script that never decides what it wants to be",
]


def manual_perplexity(model, tokenizer, text: str, max_tokens: int = 256) -> float:
    ids = tokenizer(text, add_special_tokens=False)["input_ids"][: max_tokens - 1]
    ids = torch.tensor([[context_token_id(tokenizer), *ids]])
    with torch.no_grad():
        logits = model(input_ids=ids).logits
    loss = F.cross_entropy(logits[0, :-1], ids[0, 1:])
    return math.exp(loss.item())


def test_batched_matches_manual(tiny_llama, bert_tokenizer):
    scorer = PerplexityScorer(tiny_llama, bert_tokenizer, name="tiny", batch_size=3)
    batched = scorer.perplexities(TEXTS)
    for text, value in zip(TEXTS, batched):
        assert value == pytest.approx(manual_perplexity(tiny_llama, bert_tokenizer, text), rel=1e-5)


def test_random_model_perplexity_near_vocabulary(tiny_llama, bert_tokenizer):
    # An untrained LM predicts close to uniformly, so its perplexity is near the vocabulary size.
    value = PerplexityScorer(tiny_llama, bert_tokenizer, name="tiny").perplexities([TEXTS[1]])[0]
    assert 0.5 * bert_tokenizer.vocab_size < value < 2.0 * bert_tokenizer.vocab_size


def test_token_budget_splits_batches(tiny_llama, bert_tokenizer):
    scorer = PerplexityScorer(tiny_llama, bert_tokenizer, name="tiny", batch_size=16, max_batch_tokens=8)
    values = scorer.perplexities(TEXTS)
    for text, value in zip(TEXTS, values):
        assert value == pytest.approx(manual_perplexity(tiny_llama, bert_tokenizer, text), rel=1e-5)


def test_truncation_to_max_tokens(tiny_llama, bert_tokenizer):
    scorer = PerplexityScorer(tiny_llama, bert_tokenizer, name="tiny", max_tokens=4)
    value = scorer.perplexities([TEXTS[1]])[0]
    assert value == pytest.approx(manual_perplexity(tiny_llama, bert_tokenizer, TEXTS[1], max_tokens=4), rel=1e-5)
    assert value != pytest.approx(manual_perplexity(tiny_llama, bert_tokenizer, TEXTS[1]), rel=1e-3)


def test_cache_scores_each_text_once(tiny_llama, bert_tokenizer):
    scorer = PerplexityScorer(tiny_llama, bert_tokenizer, name="tiny")
    first = scorer.perplexities([TEXTS[0], TEXTS[1], TEXTS[0]])
    second = scorer.perplexities([TEXTS[1], TEXTS[0]])
    assert scorer.texts_scored == 2
    assert second == [first[1], first[0]]


def test_empty_text_has_no_perplexity(tiny_llama, bert_tokenizer):
    scorer = PerplexityScorer(tiny_llama, bert_tokenizer, name="tiny")
    assert scorer.perplexities(["", TEXTS[0]])[0] is None


def test_context_token_prefers_document_separator(bert_tokenizer):
    assert context_token_id(bert_tokenizer) == bert_tokenizer.cls_token_id


def test_perplexity_ratio():
    assert perplexity_ratio(50.0, 125.0) == 2.5
    assert perplexity_ratio(None, 10.0) is None
    assert perplexity_ratio(10.0, None) is None
