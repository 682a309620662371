"""Print the Markdown table of benchmarks/gpu.sh from its output folder.

    python benchmarks/gpu_table.py OUT_DIR

Reads OUT_DIR/benchmarks.json (pytest-benchmark's JSON) and OUT_DIR/suite/results.sqlite.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from harness.store import Store


def benchmark_rows(document: dict) -> list[str]:
    rows = []
    for bench in document.get("benchmarks", []):
        info = bench.get("extra_info", {})
        name = bench["name"]
        if "speedup" in info:
            rows.append(f"| {name} | run_attack {info['run_attack_examples_per_second']:.2f} examples/s, stock "
                        f"{info['stock_examples_per_second']:.2f}, speedup {info['speedup']:.1f}x; model "
                        f"{info['model_fraction_of_matmul_rate']:.2f} of matmul rate; bf16 "
                        f"{info['bf16_examples_per_second']:.2f} examples/s, outcomes differing "
                        f"{info['bf16_outcome_difference_share']:.0%} |")
        elif "fraction_of_matmul_rate" in info:
            rows.append(f"| {name} | {info['examples_per_second']:.0f} examples/s, "
                        f"{info['fraction_of_matmul_rate']:.2f} of {info['matmul_gflops']:.0f} GFLOP/s |")
        elif "ratio" in info:
            rows.append(f"| {name} | rsbench {info['ours_examples_per_second']} examples/s, Trainer "
                        f"{info['trainer_examples_per_second']}, ratio {info['ratio']}; accuracy "
                        f"{info['ours_accuracy']:.3f} against {info['trainer_accuracy']:.3f} |")
    return rows


def suite_rows(store: Store) -> list[str]:
    resources = store.unit_resources()
    train = store.train_metrics()
    attack = store.attack_metrics()
    rows = []
    for unit in store.units():
        if unit["status"] != "done":
            rows.append(f"| {unit['kind']} {unit['model']}/{unit['variant']} {unit['attack'] or ''} | failed: {unit['error']} |")
            continue
        peaks = resources.get(unit["key"])
        gpu = "–" if peaks is None or peaks["peak_gpu_bytes"] is None else f"{peaks['peak_gpu_bytes'] / 2**20:,.0f} MiB"
        rss = "–" if peaks is None or peaks["peak_rss_bytes"] is None else f"{peaks['peak_rss_bytes'] / 2**20:,.0f} MiB"
        if unit["kind"] == "train":
            metrics = train[unit["key"]]
            figures = (f"{metrics['train_examples_per_second']:.0f} training examples/s, "
                       f"{metrics['eval_examples_per_second']:.0f} evaluation examples/s, clean accuracy "
                       f"{metrics['clean_accuracy']:.3f}")
            label = f"train {unit['variant']}"
        else:
            metrics = attack[unit["key"]]
            precision = json.loads(unit["config_json"]).get("budget", {}).get("precision", "fp32")
            figures = (f"{metrics['attack_examples_per_second']:.2f} examples/s, robust accuracy "
                       f"{metrics['robust_accuracy']:.2f}, success rate {metrics['attack_success_rate']:.2f}")
            label = f"{unit['attack']} on {unit['variant']}, {precision}"
        rows.append(f"| {label} | {figures}; peak RSS {rss}, peak GPU {gpu} |")
    return rows


def main(out_dir: Path) -> None:
    print("| benchmark or unit | figures |")
    print("|---|---|")
    bench_file = out_dir / "benchmarks.json"
    if bench_file.is_file():
        for row in benchmark_rows(json.loads(bench_file.read_text(encoding="utf-8"))):
            print(row)
    store_file = out_dir / "suite" / "results.sqlite"
    if store_file.is_file():
        with Store(store_file, readonly=True) as store:
            for row in suite_rows(store):
                print(row)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python benchmarks/gpu_table.py OUT_DIR")
    main(Path(sys.argv[1]))
