"""Peak memory records, the store's schema version 3 and the precision option of suites."""

from __future__ import annotations

import mmap
import sqlite3
import time

import pytest

from harness.errors import SuiteError
from harness.execution.plan import build_plan
from harness.perf import PeakMemory, autocast, forward_flops, matmul_flops_per_second
from harness.results import collect_rows
from harness.store import SCHEMA_VERSION, Store, UnitIdentity
from harness.suite import load_suite
from tests.helpers import tiny_suite_text

TRAIN_METRICS = {"clean_accuracy": 0.9, "clean_macro_f1": 0.9, "train_examples": 10, "test_examples": 4, "train_seconds": 1.0,
                 "train_examples_per_second": 10.0, "eval_examples_per_second": 40.0, "final_loss": 0.1, "checkpoint": "c/t1"}


def train_identity(key: str = "t1") -> UnitIdentity:
    return UnitIdentity(key=key, kind="train", task="sentiment", dataset="d", dataset_generated=False, model="m",
                        variant="baseline", variant_kind="baseline", attack=None, seed=0, train_key=None, config={},
                        label_names=("neg", "pos"))


def test_peak_memory_sees_allocation():
    # The block is held until the sampling thread has seen it, or 10 s at most: on a busy
    # machine the thread can go several intervals without running.
    with PeakMemory(interval=0.01) as memory:
        before = memory._peak_rss
        # A fresh anonymous mapping: a heap allocation can reuse pages the process already holds.
        block = mmap.mmap(-1, 64 * 2**20)
        block.write(b"\1" * len(block))
        deadline = time.monotonic() + 10
        while memory._peak_rss < before + 48 * 2**20 and time.monotonic() < deadline:
            time.sleep(0.01)
        block.close()
    assert memory.peaks.peak_rss_bytes >= before + 48 * 2**20
    assert memory.peaks.peak_gpu_bytes is None


def test_store_keeps_unit_resources(tmp_path):
    with Store(tmp_path / "r.sqlite") as store:
        store.record_train(train_identity(), TRAIN_METRICS, manifest={}, finished_at="t", wall_seconds=1.0,
                           resources={"peak_rss_bytes": 300 * 2**20, "peak_gpu_bytes": None})
        [row] = collect_rows(store)
        assert store.meta("schema_version") == str(SCHEMA_VERSION)
    assert row.train_peak_rss_bytes == 300 * 2**20
    assert row.train_peak_gpu_bytes is None
    assert row.attack_peak_rss_bytes is None


def test_rewriting_unit_replaces_resources(tmp_path):
    with Store(tmp_path / "r.sqlite") as store:
        for peak in (100, 200):
            store.record_train(train_identity(), TRAIN_METRICS, manifest={}, finished_at="t", wall_seconds=1.0,
                               resources={"peak_rss_bytes": peak, "peak_gpu_bytes": 7})
        assert store.unit_resources()["t1"]["peak_rss_bytes"] == 200
        assert store.unit_resources()["t1"]["peak_gpu_bytes"] == 7


def version_2_store(path) -> None:
    """Write a store as rsbench with schema version 2 left it: no unit_resources table."""
    with Store(path) as store:
        store.record_train(train_identity(), TRAIN_METRICS, manifest={}, finished_at="t", wall_seconds=1.0)
    connection = sqlite3.connect(path)
    connection.execute("DROP TABLE unit_resources")
    connection.execute("UPDATE meta SET value = '2' WHERE name = 'schema_version'")
    connection.commit()
    connection.close()


def test_version_2_store_read_only(tmp_path):
    path = tmp_path / "results.sqlite"
    version_2_store(path)
    with Store(path, readonly=True) as store:
        assert store.unit_resources() == {}
        [row] = collect_rows(store)
    assert row.clean_accuracy == 0.9
    assert row.train_peak_rss_bytes is None


def test_version_2_store_migrated(tmp_path):
    path = tmp_path / "results.sqlite"
    version_2_store(path)
    with Store(path) as store:
        assert store.meta("schema_version") == str(SCHEMA_VERSION)
        store.record_train(train_identity("t2"), TRAIN_METRICS | {"checkpoint": "c/t2"}, manifest={}, finished_at="t",
                           wall_seconds=1.0, resources={"peak_rss_bytes": 5, "peak_gpu_bytes": None})
    with Store(path, readonly=True) as store:
        assert set(store.unit_resources()) == {"t2"}
        assert store.train_metrics()["t1"]["clean_accuracy"] == 0.9


def _suite(tmp_path, sentiment_csv, extra: str = ""):
    block = f"      source: file\n      path: {sentiment_csv}\n      text_column: review\n      label_column: sentiment"
    text = tiny_suite_text(block).replace("  max_length: 32\n", "  max_length: 32\n" + extra)
    path = tmp_path / "suite.yaml"
    path.write_text(text, encoding="utf-8")
    return load_suite(path)


def test_fp32_precision_leaves_keys_unchanged(tmp_path, sentiment_csv):
    default = build_plan(_suite(tmp_path, sentiment_csv))
    explicit = build_plan(_suite(tmp_path, sentiment_csv, "  precision: fp32\n"))
    bf16 = build_plan(_suite(tmp_path, sentiment_csv, "  precision: bf16\n"))

    assert [unit.key for unit in explicit.units] == [unit.key for unit in default.units]
    assert "precision" not in default.train_units()[0].config["training"]
    assert bf16.train_units()[0].key != default.train_units()[0].key
    assert bf16.train_units()[0].config["training"]["precision"] == "bf16"


def test_suite_rejects_unknown_precision(tmp_path, sentiment_csv):
    with pytest.raises(SuiteError, match="training.precision"):
        _suite(tmp_path, sentiment_csv, "  precision: fp16\n")


def test_autocast_rejects_unknown_precision():
    with pytest.raises(ValueError, match="fp32, bf16"):
        autocast("int8", "cpu")


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_matmul_rate_is_positive_and_finite(precision):
    rate = matmul_flops_per_second(size=64, repeats=2, precision=precision)
    assert 0 < rate < float("inf")


def test_matmul_rate_rejects_unknown_precision():
    with pytest.raises(ValueError, match="fp32, bf16"):
        matmul_flops_per_second(size=8, precision="fp16")


def test_forward_flops_counts_layers_and_attention():
    class Config:
        hidden_size, intermediate_size, num_hidden_layers = 4, 8, 2

    # Per layer: n * 2 * (4*16 + 2*4*8) = 256 n, plus 4 * n^2 * 4 = 16 n^2.
    assert forward_flops(Config, [1, 3]) == 2 * (256 + 16) + 2 * (3 * 256 + 16 * 9)


def test_forward_flops_first_token_last_layer():
    class Config:
        hidden_size, intermediate_size, num_hidden_layers = 4, 8, 2

    # Last layer: keys and values for n tokens (2 * 2*16 n), the rest for one token
    # (2 * (2*16 + 2*4*8) = 192), attention 4 * n * 4.
    full_first_layer = 3 * 256 + 16 * 9
    assert forward_flops(Config, [3], last_layer_first_token_only=True) == full_first_layer + 64 * 3 + 192 + 16 * 3
