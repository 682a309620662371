"""Generation attack throughput with the output cache on and off, measured in the same run.

The model is a random tiny Llama (2 layers, hidden 64, SmolLM2's tokenizer) that greedily
generates 8 tokens per source through ``harness.generation.generator.Generator``. One round
runs the three generation attacks one after the other over the same sources, as a suite
does against one model. With the cache on, the generator keeps its outputs across the
three attacks and the attack wrapper
keeps them across examples. With it off, every text that the goal functions request is
generated. Records must be identical in both settings. The rates are the median of the
rounds and are reported, not asserted.

    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 OMP_NUM_THREADS=1 python -m pytest benchmarks/test_generation_attack.py -s --benchmark-enable
"""

from __future__ import annotations

import os
import statistics
import time

for _name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_name, "1")

import torch  # noqa: E402

from harness.generation.attacks import ATTACK_NAMES, attack_generation  # noqa: E402
from harness.generation.examples import TextPairs  # noqa: E402
from harness.generation.generator import Generator  # noqa: E402
from tests.generation.tiny_llama import tiny_llama_generator  # noqa: E402

SOURCES = (
    "The young doctor visited her sick patient early this morning",
    "A small child reads an interesting book in the quiet library",
    "Heavy rain flooded the narrow streets of the old town",
    "The old farmer sold fresh vegetables at the busy market",
    "Students wrote long essays about the history of their country",
    "A strong wind broke several branches of the tall tree",
)
QUERY_BUDGET = 30
MAX_WORDS_CHANGED = 2
TARGET_BLEU = 0.3
ROUNDS = 5


def examples() -> TextPairs:
    count = len(SOURCES)
    return TextPairs(SOURCES, SOURCES, tuple(f"g{i}" for i in range(count)), tuple(f"line {i}" for i in range(count)))


def run_round(generate: Generator, cache: bool) -> list:
    records = []
    for attack_name in ATTACK_NAMES:
        outcomes = attack_generation(generate, examples(), attack_name=attack_name, query_budget=QUERY_BUDGET,
                                     max_words_changed=MAX_WORDS_CHANGED, target_bleu=TARGET_BLEU, cache=cache)
        records += [outcome.record for outcome in outcomes]
    return records


def test_generation_attack_cache(benchmark):
    # Warm-up: the first WordNet lookups and generate calls of a process take seconds.
    run_round(tiny_llama_generator(cache=False), False)
    times: dict[bool, list[float]] = {True: [], False: []}
    runs: dict[bool, tuple[Generator, list]] = {}

    def setup():
        return (tiny_llama_generator(cache=True), tiny_llama_generator(cache=False)), {}

    def run_pair(cached_generate: Generator, uncached_generate: Generator) -> None:
        # Both settings run in each round, so a slow spell of the shared machine hits both.
        for cache, generate in ((True, cached_generate), (False, uncached_generate)):
            started = time.perf_counter()
            records = run_round(generate, cache)
            times[cache].append(time.perf_counter() - started)
            runs[cache] = (generate, records)

    benchmark.pedantic(run_pair, setup=setup, rounds=ROUNDS, iterations=1)

    (cached_generate, cached_records), (uncached_generate, uncached_records) = runs[True], runs[False]
    key = [(r.outcome, r.perturbed_text, r.queries) for r in cached_records]
    assert key == [(r.outcome, r.perturbed_text, r.queries) for r in uncached_records]
    attacked = len(cached_records)
    cached_rate = attacked / statistics.median(times[True])
    uncached_rate = attacked / statistics.median(times[False])
    outcomes = {name: sum(r.outcome == name for r in cached_records) for name in ("succeeded", "failed", "skipped")}
    queries = sum(r.queries for r in cached_records)
    benchmark.extra_info.update(
        cached_examples_per_second=cached_rate,
        uncached_examples_per_second=uncached_rate,
        ratio=cached_rate / uncached_rate,
        cached_generated_sources=cached_generate.generated_sources,
        uncached_generated_sources=uncached_generate.generated_sources,
        queries=queries,
        torch_threads=torch.get_num_threads(),
        **outcomes,
    )
    print(f"\n{len(ATTACK_NAMES)} attacks x {len(SOURCES)} sources, query budget {QUERY_BUDGET}, "
          f"{torch.get_num_threads()} threads: cache on {cached_rate:.3f} examples/s, off {uncached_rate:.3f} examples/s "
          f"(median of {ROUNDS}), ratio {cached_rate / uncached_rate:.2f}; sources generated {cached_generate.generated_sources} "
          f"against {uncached_generate.generated_sources} for {queries} queries; outcomes {outcomes}; "
          f"seconds on {[round(t, 2) for t in times[True]]}, off {[round(t, 2) for t in times[False]]}")
