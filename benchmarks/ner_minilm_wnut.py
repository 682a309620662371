"""Fine-tune all-MiniLM-L6-v2 on the packaged WNUT-16 split, score dev and test, attack test sentences.

A measurement script, not a test: prints entity F1 on dev and test and, per attack, the
attack summary and entity F1 under attack. Runs OMP_NUM_THREADS torch threads, 1 when unset.
With NER_CHECKPOINT set, the fine-tuned model is saved to that folder, or loaded from it
when the folder already contains a checkpoint, which skips training.

    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 OMP_NUM_THREADS=1 python benchmarks/ner_minilm_wnut.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

for _name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_name, "1")

import torch  # noqa: E402

from harness.attacks.params import AttackBudget  # noqa: E402
from harness.models import load_checkpoint, load_classifier, save_checkpoint  # noqa: E402
from harness.suite import ModelSpec, PackagedData  # noqa: E402
from harness.tasks.ner import NerTask  # noqa: E402
from harness.training.loop import train  # noqa: E402
from harness.training.params import TrainingParams  # noqa: E402
from harness.variants import baseline  # noqa: E402
from harness.variants.params import BaselineParams  # noqa: E402

EPOCHS = int(os.environ.get("NER_EPOCHS", "3"))
ATTACKED = int(os.environ.get("NER_ATTACKED", "30"))
QUERY_BUDGET = 200
MAX_LENGTH = 64


def main() -> None:
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    device = torch.device("cpu")
    task = NerTask()
    splits, _ = task.load_splits(PackagedData(source="packaged", name="wnut16"))
    print(f"sentences: train {len(splits.train)}, dev {len(splits.dev)}, test {len(splits.test)}", flush=True)
    checkpoint = Path(os.environ["NER_CHECKPOINT"]) if os.environ.get("NER_CHECKPOINT") else None
    if checkpoint is not None and (checkpoint / "model.safetensors").is_file():
        model, tokenizer = load_checkpoint(checkpoint, head=task.model_head)
        print(f"loaded {checkpoint}", flush=True)
    else:
        model, tokenizer = load_classifier(ModelSpec(source="packaged", name="all-MiniLM-L6-v2"),
                                           task.label_names(splits), seed=0, head=task.model_head)
        params = TrainingParams(epochs=EPOCHS, batch_size=32, learning_rate=1e-4, max_length=MAX_LENGTH)
        stats = train(model, tokenizer, splits.train, params, baseline.build(BaselineParams(), head=task.head), seed=0,
                      device=device, progress=False)
        print(f"training: {stats.seconds:.0f} s, {stats.examples_per_second:.1f} examples/s, losses {stats.epoch_losses}",
              flush=True)
        if checkpoint is not None:
            save_checkpoint(model, tokenizer, checkpoint)
    for name, part in (("dev", splits.dev), ("test", splits.test)):
        evaluation = task.evaluate(model, tokenizer, part, batch_size=64, max_length=MAX_LENGTH, device=device,
                                   progress=False)
        scores = {key: round(value, 3) for key, value in evaluation.metrics.items()}
        print(f"{name}: {scores}, {evaluation.examples_per_second:.0f} sentences/s", flush=True)
    examples = splits.test.subset(list(range(ATTACKED)))
    for attack_name in ("deepwordbug", "pwws"):
        started = time.perf_counter()
        run = task.attack(model, tokenizer, attack_name, examples, budget=AttackBudget(query_budget=QUERY_BUDGET),
                          max_length=MAX_LENGTH, device=device, progress=False)
        summary = run.summary
        evaluations = sum(record.model_evaluations for record in run.records)
        print(f"{attack_name}: {summary.succeeded} succeeded, {summary.failed} failed, {summary.skipped} skipped; "
              f"{summary.examples_per_second:.2f} examples/s, {evaluations / summary.seconds:.0f} model evaluations/s; "
              f"entity F1 clean {run.attacked_clean_metrics['entity_f1']:.3f}, under attack {run.robust_metrics['entity_f1']:.3f}; "
              f"wall {time.perf_counter() - started:.0f} s", flush=True)
        for record in run.records:
            if record.outcome == "succeeded":
                print("  example:", record.original_text, "->", record.perturbed_text, flush=True)
                break
    sys.stdout.flush()


if __name__ == "__main__":
    main()
