"""Generation throughput of rsbench's ``Generator``: batching and the output cache, as ratios measured in the same run.

The model is a random Llama over SmolLM2's tokenizer (4 layers, hidden 256), greedy with
16 new tokens, whose weights are scaled so its outputs depend on the source. The workload
mimics an attack: 24 distinct sources, each requested three times in a shuffled order, in
calls of 8 texts. Three settings run in every round, so a slow spell of a shared machine
hits all of them: batches of 8 with the cache, batches of 8 without it, and one source at
a time without it. Outputs must be identical. The rates are generated tokens per second of
wall time over the whole workload (requested outputs × their tokens), medians of the
rounds; they are reported, not asserted.

    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 python -m pytest benchmarks/test_generation.py -s --benchmark-enable
"""

from __future__ import annotations

import os
import random
import statistics
import time

for _name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
    os.environ.setdefault(_name, "1")

import torch  # noqa: E402

from harness.generation.decoding import Decoding  # noqa: E402
from harness.generation.generator import Generator  # noqa: E402
from harness.generation.prompts import PromptFormat  # noqa: E402
from tests.generation.conftest import build_tiny_llama  # noqa: E402

WORDS = ("river", "market", "doctor", "child", "storm", "garden", "letter", "train", "window", "teacher", "bread", "mountain")
DISTINCT = 24
REPEATS = 3
CALL_SIZE = 8
ROUNDS = 3
DECODING = Decoding(strategy="greedy", max_new_tokens=16)
FORMAT = PromptFormat("Translate this English text into Spanish.")


def workload() -> list[list[str]]:
    rng = random.Random(0)
    sources = [" ".join(rng.choice(WORDS) for _ in range(6 + index % 7)) for index in range(DISTINCT)]
    requests = sources * REPEATS
    rng.shuffle(requests)
    return [requests[start:start + CALL_SIZE] for start in range(0, len(requests), CALL_SIZE)]


def model_and_tokenizer():
    model, tokenizer = build_tiny_llama(seed=0, num_hidden_layers=4, hidden_size=256, num_attention_heads=4, intermediate_size=512)
    torch.manual_seed(0)
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() == 2:
                parameter.normal_(0.0, 0.1)
    return model.eval(), tokenizer


def run(model, tokenizer, calls, *, batch_size: int, cache: bool) -> tuple[list[str], int, float]:
    generator = Generator(model, tokenizer, FORMAT, DECODING, batch_size=batch_size, max_source_tokens=48, device="cpu",
                          cache_enabled=cache)
    started = time.perf_counter()
    outputs = [text for call in calls for text in generator(call)]
    seconds = time.perf_counter() - started
    tokens = sum(len(tokenizer(text, add_special_tokens=False)["input_ids"]) + 1 for text in outputs)
    return outputs, tokens, seconds


def test_generation_batching_and_cache(benchmark):
    model, tokenizer = model_and_tokenizer()
    calls = workload()
    settings = {"batched+cache": (CALL_SIZE, True), "batched": (CALL_SIZE, False), "one-by-one": (1, False)}
    run(model, tokenizer, calls[:1], batch_size=CALL_SIZE, cache=False)  # warm-up
    rates: dict[str, list[float]] = {name: [] for name in settings}
    outputs: dict[str, list[str]] = {}

    def one_round() -> None:
        for name, (batch_size, cache) in settings.items():
            texts, tokens, seconds = run(model, tokenizer, calls, batch_size=batch_size, cache=cache)
            rates[name].append(tokens / seconds)
            outputs[name] = texts

    benchmark.pedantic(one_round, rounds=ROUNDS, iterations=1)

    assert outputs["batched+cache"] == outputs["batched"]
    assert outputs["batched"] == outputs["one-by-one"]
    median = {name: statistics.median(values) for name, values in rates.items()}
    benchmark.extra_info.update({f"{name}_tokens_per_second": value for name, value in median.items()})
    benchmark.extra_info.update(cache_ratio=median["batched+cache"] / median["batched"],
                                batching_ratio=median["batched"] / median["one-by-one"],
                                torch_threads=torch.get_num_threads())
    print(f"\n{DISTINCT} sources x {REPEATS} requests, {torch.get_num_threads()} threads, tokens/s (median of {ROUNDS}): "
          + ", ".join(f"{name} {value:.1f}" for name, value in median.items())
          + f"; cache ratio {median['batched+cache'] / median['batched']:.2f}, "
          f"batching ratio {median['batched'] / median['one-by-one']:.2f}")
