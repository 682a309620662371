"""Executors end to end on a tiny learnable suite: the same results from every executor,
Ctrl-C in the middle of a run, and failed units kept until --retry-failed."""

from __future__ import annotations

import csv
import os
import queue
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from harness.cli.main import main
from harness.execution.plan import build_plan
from harness.store import Store
from harness.suite import load_suite
from tests.helpers import REPO
from tests.tiny_models import sentiment_texts

pytestmark = pytest.mark.slow

# 10 epochs at 3e-3 make the random 1-layer BERT separate the 64 sentences, so the attack
# has correct predictions to flip.
_SUITE = """# rsbench run suite.yaml
name: executors
tasks:
  sentiment:
    type: classification
    data: {{source: file, path: words.csv, text_column: review, label_column: sentiment}}
models:
  tiny-bert:
    source: random
    architecture: {{num_hidden_layers: 1, hidden_size: 32, num_attention_heads: 2, intermediate_size: 64}}
variants:
  {variants}
training: {{epochs: 10, batch_size: 8, learning_rate: 3.0e-3, max_length: 32}}
attack: {{examples: 8, query_budget: 20}}
attacks: [deepwordbug]
"""


def _write_suite(folder: Path, variants: str) -> Path:
    data = sentiment_texts()
    with (folder / "words.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["review", "sentiment"])
        writer.writerows((text, data.label_names[label]) for text, label in zip(data.texts, data.labels))
    path = folder / "suite.yaml"
    path.write_text(_SUITE.format(variants=variants), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def suite_file(tmp_path_factory) -> Path:
    """Baseline and kd (its teacher is the baseline) with one attack each: 4 units."""
    return _write_suite(tmp_path_factory.mktemp("suite"), "baseline: {}\n  kd: {teacher: self}")


def snapshot(out: Path) -> dict:
    """The stored results of a run that do not depend on timing."""
    with Store(out / "results.sqlite", readonly=True) as store:
        units = {row["key"]: (row["kind"], row["status"], row["error"]) for row in store.units()}
        train = {key: {name: row[name] for name in ("clean_accuracy", "clean_macro_f1", "final_loss", "train_examples", "test_examples")}
                 for key, row in store.train_metrics().items()}
        attack = {key: {name: row[name] for name in ("attacked", "skipped", "succeeded", "failed", "robust_accuracy",
                                                      "attack_success_rate", "mean_perturbed_word_fraction", "mean_model_evaluations")}
                  for key, row in store.attack_metrics().items()}
        examples = [(row["unit_key"], row["idx"], row["outcome"], row["perturbed_text"], row["original_prediction"],
                     row["perturbed_prediction"], row["words_changed"], row["model_evaluations"]) for row in store.examples()]
    return {"units": units, "train": train, "attack": attack, "examples": examples}


def assert_same_results(actual: dict, expected: dict) -> None:
    assert actual["units"] == expected["units"]
    assert actual["examples"] == expected["examples"]
    for table in ("train", "attack"):
        assert actual[table].keys() == expected[table].keys()
        for key, metrics in expected[table].items():
            assert actual[table][key] == pytest.approx(metrics, abs=1e-6), (table, key)


@pytest.fixture(scope="module")
def serial_results(suite_file, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("serial") / "out"
    assert main(["run", str(suite_file), "--out", str(out), "--no-progress", "--threads", "1"]) == 0
    results = snapshot(out)
    assert len(results["units"]) == 4
    assert {status for _, status, _ in results["units"].values()} == {"done"}
    # The suite must give the comparison something to compare: correct predictions, and attacks that flip some.
    assert all(metrics["clean_accuracy"] > 0.9 for metrics in results["train"].values())
    assert any(outcome == "succeeded" for _, _, outcome, *_ in results["examples"])
    return results


def test_two_workers_match_one(suite_file, serial_results, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(suite_file), "--out", str(out), "--no-progress", "--workers", "2", "--threads", "1"]) == 0
    assert "units: 4 computed, 0 already stored, 0 failed" in capsys.readouterr().out
    assert_same_results(snapshot(out), serial_results)
    assert len(list((out / "checkpoints").glob("*/model.safetensors"))) == 2


_LOOPBACK = {"127.0.0.1", "::ffff:127.0.0.1", "::1"}


@pytest.fixture(scope="module")
def local_ray():
    """A Ray instance of 2 CPUs that listens on the loopback interface only, for this module's tests."""
    # Ray 2.60 replaces a loopback node address given to ray.init with the host's external
    # address unless cluster mode is off. With it off, the node address and servers use
    # 127.0.0.1. Ray reads the variable when it is first imported.
    previous = os.environ.get("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    assert "ray" not in sys.modules, "ray was imported before its cluster mode could be turned off"
    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    try:
        ray_processes = {process.pid for process in psutil.Process().children(recursive=True)}
        listening = {connection.laddr.ip for connection in psutil.net_connections(kind="inet")
                     if connection.status == psutil.CONN_LISTEN and connection.pid in ray_processes}
        assert listening, "found no listening socket of the Ray processes"
        assert listening <= _LOOPBACK
        yield ray
    finally:
        ray.shutdown()
        if previous is None:
            del os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"]
        else:
            os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = previous


def test_ray_matches_local(suite_file, serial_results, local_ray, tmp_path, capsys):
    out = tmp_path / "out"
    shared = tmp_path / "shared"
    command = ["run", str(suite_file), "--out", str(out), "--no-progress", "--executor", "ray", "--storage", f"file://{shared}"]
    assert main(command) == 0
    assert "units: 4 computed, 0 already stored, 0 failed" in capsys.readouterr().out
    assert_same_results(snapshot(out), serial_results)

    train_keys = sorted(unit.key for unit in build_plan(load_suite(suite_file)).train_units())
    assert sorted(folder.name for folder in (shared / "checkpoints").iterdir()) == train_keys
    assert all((shared / "checkpoints" / key / "model.safetensors").is_file() for key in train_keys)
    assert not (out / "checkpoints").exists()

    assert main(command) == 0
    assert "units: 0 computed, 4 already stored, 0 failed" in capsys.readouterr().out


def _stderr_lines(process: subprocess.Popen) -> queue.Queue:
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in process.stderr:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _wait_for(lines: queue.Queue, text: str, seen: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1.0)
        except queue.Empty:
            continue
        if line is None:
            raise AssertionError(f"the run ended before {text!r}:\n{''.join(seen[-30:])}")
        seen.append(line)
        if text in line:
            return
    raise AssertionError(f"no {text!r} within {timeout} s:\n{''.join(seen[-30:])}")


@pytest.mark.parametrize("executor", ["local-1", "local-2", "ray"])
def test_sigint_keeps_finished_units(suite_file, tmp_path, executor):
    out = tmp_path / "out"
    argv = ["run", str(suite_file), "--out", str(out), "--no-progress", "--threads", "1"]
    if executor == "ray":
        # Without --address the run starts its own Ray instance, on 127.0.0.1 only (see local_ray).
        argv += ["--executor", "ray"]
        workers = 1
    else:
        workers = int(executor.removeprefix("local-"))
        argv += ["--workers", str(workers)]
    env = {**os.environ, "PYTHONPATH": str(REPO), "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
    process = subprocess.Popen([sys.executable, "-m", "harness", *argv], cwd=REPO, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = _stderr_lines(process)
    seen: list[str] = []
    try:
        # The scheduler starts the student only after the teacher is stored.
        _wait_for(lines, "[2/4] train sentiment/tiny-bert/kd/seed 0: running", seen, timeout=300)
        children = psutil.Process(process.pid).children(recursive=True)
        process.send_signal(signal.SIGINT)
        returncode = process.wait(timeout=120)
    finally:
        process.kill()
    while (line := lines.get(timeout=10)) is not None:
        seen.append(line)
    stderr = "".join(seen)

    assert returncode == 130, stderr[-3000:]
    assert f"Resume with the same command: {shlex.join(['rsbench', *argv])}" in stderr
    assert "Traceback" not in stderr
    # Ray's processes, or the pool's workers, must all exit with the run.
    assert len(children) >= (1 if executor == "ray" else workers - 1)
    _, alive = psutil.wait_procs(children, timeout=10)
    assert alive == []

    plan = build_plan(load_suite(suite_file))
    teacher = next(unit for unit in plan.train_units() if unit.variant == "baseline")
    with Store(out / "results.sqlite", readonly=True) as store:
        statuses = {row["key"]: row["status"] for row in store.units()}
    assert statuses[teacher.key] == "done"
    assert set(statuses.values()) == {"done"}
    assert len(statuses) < 4

    if executor == "local-1":
        resumed = subprocess.run([sys.executable, "-m", "harness", *argv], cwd=REPO, env=env, text=True,
                                 capture_output=True, timeout=600)
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        assert f"units: {4 - len(statuses)} computed, {len(statuses)} already stored, 0 failed" in resumed.stdout


def test_failed_unit_kept_until_retry(tmp_path, monkeypatch, capsys):
    suite_file = _write_suite(tmp_path, "baseline: {}")
    out = tmp_path / "out"
    command = ["run", str(suite_file), "--out", str(out), "--no-progress", "--threads", "1"]

    def broken_attack(*args, **kwargs):
        raise RuntimeError("injected attack failure")

    monkeypatch.setattr("harness.attacks.runner.run_attack", broken_attack)
    assert main(command) == 1
    first = capsys.readouterr()
    assert "units: 1 computed, 0 already stored, 1 failed" in first.out
    assert "with --retry-failed" in first.err
    monkeypatch.undo()

    # A plain rerun keeps the failed unit failed.
    assert main(command) == 1
    second = capsys.readouterr()
    assert "units: 0 computed, 1 already stored, 1 failed (1 of them failed in an earlier run and were not retried)" in second.out
    assert "with --retry-failed" in second.err
    with Store(out / "results.sqlite", readonly=True) as store:
        errors = {row["kind"]: (row["status"], row["error"]) for row in store.units()}
    assert errors == {"train": ("done", None), "attack": ("failed", "RuntimeError: injected attack failure")}

    assert main([*command, "--retry-failed"]) == 0
    assert "units: 1 computed, 1 already stored, 0 failed" in capsys.readouterr().out
    with Store(out / "results.sqlite", readonly=True) as store:
        assert {row["status"] for row in store.units()} == {"done"}
        assert [row["attacked"] for row in store.attack_metrics().values()] == [8]
