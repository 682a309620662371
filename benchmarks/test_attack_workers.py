"""Attack units across the whole CPU: worker processes of one thread against one process.

A benchmark grid contains many attack units. The local executor can run them in worker
processes with a bounded thread count each (``executor: {workers: N}``). TextAttack's
``Attacker`` runs in one process and uses every CPU through torch's intra-op threads.
This benchmark runs the same attack units four ways, each path once:

- ``run_attack`` in this process, one unit after another, on one torch thread;
- ``run_attack`` in one spawned worker process per CPU, one torch thread each, the set-up
  the local executor uses (``harness.execution.worker.limit_threads``);
- ``run_attack`` in this process, one unit after another, torch using every CPU;
- TextAttack's stock ``HuggingFaceModelWrapper`` + ``Attacker``, one unit after another,
  torch using every CPU.

Each unit attacks its own slice of the snippets with DeepWordBug, seeded as its own run,
so the four ways must give the same outcome and perturbed text for every example. The
model is trained by ``minilm_student`` of ``test_attack_throughput``, which leaves out the
attacked snippets (48 here), and saved as safetensors for the workers. The pool is
started and has imported torch, transformers and TextAttack before the timed span, as the
executor's pool lives for a whole run. Each worker loads the model for every unit, inside
the timed span.

    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 python -m pytest benchmarks/test_attack_workers.py -s --benchmark-enable
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

for _name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_name, "1")

import torch  # noqa: E402

from benchmarks.test_attack_throughput import QUERY_BUDGET, minilm_student, rotten_tomatoes_snippets  # noqa: E402
from harness.attacks.recipes import build_attack  # noqa: E402
from harness.attacks.resources import import_textattack  # noqa: E402
from harness.attacks.runner import run_attack  # noqa: E402
from harness.execution.local import available_cpus  # noqa: E402
from harness.tasks.base import LabeledTexts  # noqa: E402

UNITS = 4
EXAMPLES_PER_UNIT = 12


def unit_slices(examples: LabeledTexts, units: int) -> list[LabeledTexts]:
    size = len(examples) // units
    return [
        LabeledTexts(examples.texts[i * size : (i + 1) * size], examples.labels[i * size : (i + 1) * size],
                     examples.label_names)
        for i in range(units)
    ]


def _load(folder: str):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(folder, use_safetensors=True)
    return model.eval(), AutoTokenizer.from_pretrained(folder)


def _worker_start(threads: int) -> None:
    from harness.execution.worker import limit_threads

    limit_threads(threads)
    import transformers  # noqa: F401

    import_textattack()


def _wait(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def _worker_attack(folder: str, examples: LabeledTexts) -> list[tuple[str, str]]:
    model, tokenizer = _load(folder)
    records, _ = run_attack(model, tokenizer, "deepwordbug", examples, query_budget=QUERY_BUDGET, progress=False)
    return [(record.outcome, record.perturbed_text) for record in records]


def started_pool(workers: int) -> ProcessPoolExecutor:
    """Return a pool whose ``workers`` processes are all running and have done their imports."""
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_worker_start, initargs=(1,))
    try:
        # Each worker takes one of these waits while the others are busy, so all of them start.
        while len(set(pool.map(_wait, [1.0] * workers))) < workers:
            pass
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    return pool


def attack_in_workers(pool: ProcessPoolExecutor, folder: Path, units: list[LabeledTexts]) -> list[list[tuple[str, str]]]:
    return list(pool.map(_worker_attack, [str(folder)] * len(units), units))


def attack_in_process(model, tokenizer, units: list[LabeledTexts]) -> list[list[tuple[str, str]]]:
    results = []
    for unit in units:
        records, _ = run_attack(model, tokenizer, "deepwordbug", unit, query_budget=QUERY_BUDGET, progress=False)
        results.append([(record.outcome, record.perturbed_text) for record in records])
    return results


def attack_stock(model, tokenizer, units: list[LabeledTexts]) -> list[list[tuple[str, str]]]:
    textattack = import_textattack()
    wrapper = textattack.models.wrappers.HuggingFaceModelWrapper(model, tokenizer)
    results = []
    for unit in units:
        attack = build_attack("deepwordbug", wrapper, query_budget=QUERY_BUDGET)
        dataset = textattack.datasets.Dataset(list(zip(unit.texts, unit.labels)))
        args = textattack.AttackArgs(num_examples=len(unit), silent=True, disable_stdout=True, random_seed=765)
        outcomes = []
        for result in textattack.Attacker(attack, dataset, args).attack_dataset():
            kind = type(result).__name__.replace("AttackResult", "").lower()
            outcomes.append(({"successful": "succeeded"}.get(kind, kind), result.perturbed_result.attacked_text.text))
        results.append(outcomes)
    return results


def _timed(function, *args):
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


@pytest.mark.slow
def test_attack_units_in_worker_processes(benchmark, tmp_path):
    if os.environ.get("RSBENCH_BENCH_DEVICE", "cpu") != "cpu":
        pytest.skip("worker processes of one torch thread are a CPU set-up")
    cpus = available_cpus()
    if cpus < 2:
        pytest.skip("worker processes need at least 2 CPUs")
    examples = rotten_tomatoes_snippets(UNITS * EXAMPLES_PER_UNIT)
    model, tokenizer = minilm_student(examples)
    model.save_pretrained(tmp_path, safe_serialization=True)
    tokenizer.save_pretrained(tmp_path)
    units = unit_slices(examples, UNITS)
    import_textattack()
    previous_threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one_thread, one_thread_seconds = _timed(attack_in_process, model, tokenizer, units)
        torch.set_num_threads(cpus)
        pool = started_pool(cpus)
        try:
            in_workers = benchmark.pedantic(attack_in_workers, args=(pool, tmp_path, units), rounds=1, iterations=1)
        finally:
            pool.shutdown()
        workers_seconds = benchmark.stats.stats.median
        in_process, process_seconds = _timed(attack_in_process, model, tokenizer, units)
        stock, stock_seconds = _timed(attack_stock, model, tokenizer, units)
    finally:
        torch.set_num_threads(previous_threads)

    assert in_workers == in_process == one_thread == stock
    count = UNITS * EXAMPLES_PER_UNIT
    benchmark.extra_info.update(
        cpus=cpus,
        units=UNITS,
        examples=count,
        workers_examples_per_second=count / workers_seconds,
        one_process_examples_per_second=count / process_seconds,
        one_thread_examples_per_second=count / one_thread_seconds,
        stock_examples_per_second=count / stock_seconds,
        workers_over_one_process=process_seconds / workers_seconds,
        workers_over_stock=stock_seconds / workers_seconds,
        one_process_over_stock=stock_seconds / process_seconds,
    )
    print(
        f"\n{UNITS} DeepWordBug units of {EXAMPLES_PER_UNIT} snippets on {cpus} CPUs: "
        f"{cpus} worker processes x 1 thread {count / workers_seconds:.2f} examples/s, "
        f"one process x {cpus} threads {count / process_seconds:.2f} examples/s "
        f"({process_seconds / workers_seconds:.2f}x for workers), one process x 1 thread "
        f"{count / one_thread_seconds:.2f} examples/s, stock Attacker x {cpus} threads "
        f"{count / stock_seconds:.3f} examples/s; workers against stock {stock_seconds / workers_seconds:.1f}x, "
        f"one process against stock {stock_seconds / process_seconds:.1f}x"
    )
