"""Fixtures of the validity tests: a tiny random Llama with MiniLM's tokenizer, and stores of attacked units."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

from harness.store import Store, UnitIdentity
from tests.tiny_models import minilm_folder


@pytest.fixture(scope="session")
def bert_tokenizer():
    return AutoTokenizer.from_pretrained(minilm_folder())


@pytest.fixture(scope="session")
def tiny_llama(bert_tokenizer):
    """A randomly initialised 2-layer Llama over MiniLM's WordPiece vocabulary, in eval mode."""
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=bert_tokenizer.vocab_size, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=128)
    return LlamaForCausalLM(config).eval()


def attack_unit(key: str, train_key: str = "train-1", attack: str = "pwws") -> UnitIdentity:
    return UnitIdentity(key=key, kind="attack", task="sentiment", dataset="d", dataset_generated=False, model="m",
                        variant="baseline", variant_kind="baseline", attack=attack, seed=0, train_key=train_key,
                        config={"attack": attack}, label_names=("neg", "pos"))


def train_unit(key: str = "train-1") -> UnitIdentity:
    return UnitIdentity(key=key, kind="train", task="sentiment", dataset="d", dataset_generated=False, model="m",
                        variant="baseline", variant_kind="baseline", attack=None, seed=0, train_key=None,
                        config={"train": 1}, label_names=("neg", "pos"))


def example(index: int, original: str, perturbed: str, outcome: str = "succeeded") -> dict:
    return {"idx": index, "original_text": original, "perturbed_text": perturbed, "label": 1, "original_prediction": 1,
            "perturbed_prediction": 0 if outcome == "succeeded" else 1, "outcome": outcome, "words_changed": 1,
            "words_total": len(original.split()), "perturbed_word_fraction": 1 / len(original.split()),
            "model_evaluations": 3, "queries": 4}


def record_attack(store: Store, key: str, examples: list[dict]) -> None:
    """Store an attack unit whose metrics follow from ``examples``' outcomes."""
    counts = {outcome: sum(1 for item in examples if item["outcome"] == outcome) for outcome in ("succeeded", "failed", "skipped")}
    attacked = len(examples)
    attempted = counts["succeeded"] + counts["failed"]
    metrics = {"attacked": attacked, "skipped": counts["skipped"], "succeeded": counts["succeeded"], "failed": counts["failed"],
               "robust_accuracy": counts["failed"] / attacked, "attack_success_rate": counts["succeeded"] / attempted if attempted else 0.0,
               "mean_perturbed_word_fraction": 0.1, "mean_model_evaluations": 3.0, "mean_queries": 4.0,
               "attack_seconds": 1.0, "attack_examples_per_second": 1.0}
    store.record_attack(attack_unit(key), metrics, examples, manifest={"seed": 0}, finished_at="2026-01-01T00:00:00+00:00",
                        wall_seconds=1.0)


def record_train(store: Store, key: str = "train-1") -> None:
    metrics = {"clean_accuracy": 0.9, "clean_macro_f1": 0.9, "train_examples": 10, "test_examples": 10, "train_seconds": 1.0,
               "train_examples_per_second": 10.0, "eval_examples_per_second": 10.0, "final_loss": 0.1, "checkpoint": "checkpoints/x"}
    store.record_train(train_unit(key), metrics, manifest={"seed": 0}, finished_at="2026-01-01T00:00:00+00:00", wall_seconds=1.0)
