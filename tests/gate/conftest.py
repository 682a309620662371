"""Synthetic run folders for the gate tests: a results.sqlite written through the Store, no model involved."""

from __future__ import annotations

import json
from pathlib import Path

from harness.store import Store, UnitIdentity

TEXTS = [f"attacked text number {index}" for index in range(40)]


def _identity(key: str, kind: str, variant: str, attack: str | None, train_key: str | None) -> UnitIdentity:
    return UnitIdentity(key=key, kind=kind, task="sentiment", dataset="reviews.csv", dataset_generated=False,
                        model="tiny-bert", variant=variant, variant_kind=variant, attack=attack, seed=0,
                        train_key=train_key, config={"variant": variant}, label_names=("neg", "pos"))


def _example(index: int, outcome: str, text: str) -> dict:
    label = index % 2
    wrong = 1 - label
    return {
        "idx": index, "original_text": text, "perturbed_text": text + " x" if outcome == "succeeded" else text,
        "label": label, "original_prediction": wrong if outcome == "skipped" else label,
        "perturbed_prediction": label if outcome == "failed" else wrong, "outcome": outcome,
        "words_changed": 1 if outcome == "succeeded" else 0, "words_total": 4,
        "perturbed_word_fraction": 0.25 if outcome == "succeeded" else 0.0, "model_evaluations": 5, "queries": 5,
    }


def write_run(out_dir: Path, units: dict[str, list[str]], *, clean_accuracy: dict[str, float] | None = None,
              key_prefix: str = "k", texts: list[str] | None = None, failed: dict[str, str] | None = None,
              suite: str = "gate-test") -> Path:
    """Write a run folder with one training and one deepwordbug unit per variant.

    ``units`` maps a variant to the outcome of each attacked example ("failed" means the
    model resisted the attack). ``failed`` maps a variant to the error of its failed attack unit.
    """
    texts = texts or TEXTS
    clean_accuracy = clean_accuracy or {}
    failed = failed or {}
    keys = []
    with Store(out_dir / "results.sqlite") as store:
        for variant, outcomes in units.items():
            train_key = f"{key_prefix}-train-{variant}"
            attack_key = f"{key_prefix}-attack-{variant}"
            keys += [train_key, attack_key]
            accuracy = clean_accuracy.get(variant, 0.9)
            store.record_train(
                _identity(train_key, "train", variant, None, None),
                {"clean_accuracy": accuracy, "clean_macro_f1": accuracy - 0.05, "train_examples": 100, "test_examples": 50,
                 "train_seconds": 1.0, "train_examples_per_second": 100.0, "eval_examples_per_second": 500.0,
                 "final_loss": 0.3, "checkpoint": f"checkpoints/{train_key}"},
                manifest={"seed": 0}, finished_at="2026-01-01T00:00:00+00:00", wall_seconds=1.0)
            identity = _identity(attack_key, "attack", variant, "deepwordbug", train_key)
            if variant in failed:
                store.record_failure(identity, failed[variant], manifest={"seed": 0},
                                     finished_at="2026-01-01T00:00:01+00:00", wall_seconds=1.0)
                continue
            examples = [_example(index, outcome, texts[index]) for index, outcome in enumerate(outcomes)]
            attacked = len(outcomes)
            skipped = outcomes.count("skipped")
            succeeded = outcomes.count("succeeded")
            resisted = outcomes.count("failed")
            store.record_attack(
                identity,
                {"attacked": attacked, "skipped": skipped, "succeeded": succeeded, "failed": resisted,
                 "robust_accuracy": resisted / attacked,
                 "attack_success_rate": succeeded / (attacked - skipped) if attacked > skipped else 0.0,
                 "mean_perturbed_word_fraction": 0.25, "mean_model_evaluations": 5.0, "mean_queries": 5.0,
                 "attack_seconds": 1.0, "attack_examples_per_second": float(attacked)},
                examples, manifest={"seed": 0}, finished_at="2026-01-01T00:00:01+00:00", wall_seconds=1.0)
        store.set_meta("suite", suite)
        store.set_meta("plan_keys", json.dumps(sorted(keys)))
    return out_dir
