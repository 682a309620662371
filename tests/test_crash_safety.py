"""Kill `rsbench run` at named fault points and at random times, resume it, and compare with a clean run.

Every kill is followed by checks of the store: integrity, complete rows, loadable
checkpoints, and done units left untouched. The finished store must equal an
uninterrupted run of the same suite. The runs are deterministic: fixed seeds and one
torch thread.
"""

from __future__ import annotations

import json
import os
import random
import re
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import NEGATIVE, POSITIVE, REPO, tiny_suite_text

pytestmark = pytest.mark.slow

KILLED = -signal.SIGKILL
# Seed of the random kill times; the times are printed, so a failure can be replayed.
RANDOM_KILL_SEED = 20261204
TRAIN_COLUMNS = ("clean_accuracy", "clean_macro_f1", "final_loss", "train_examples", "test_examples", "checkpoint")
ATTACK_COLUMNS = ("attacked", "skipped", "succeeded", "failed", "robust_accuracy", "attack_success_rate",
                  "mean_perturbed_word_fraction", "mean_model_evaluations", "mean_queries")
# Measured per run, so they differ between any two runs: times, rates and peak memory.
TIMING_FIELDS = ("train_examples_per_second", "eval_examples_per_second", "attack_examples_per_second",
                 "train_seconds", "attack_seconds", "train_peak_rss_bytes", "attack_peak_rss_bytes",
                 "train_peak_gpu_bytes", "attack_peak_gpu_bytes")


def write_suite(folder: Path) -> Path:
    data = folder / "reviews.csv"
    lines = ["review,sentiment"]
    for repeat in range(4):
        lines += [f'"{text} {repeat}",pos' for text in POSITIVE]
        lines += [f'"{text} {repeat}",neg' for text in NEGATIVE]
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    block = f"      source: file\n      path: {data}\n      text_column: review\n      label_column: sentiment"
    text = tiny_suite_text(block, variants="baseline: {}\n  kd: {teacher: self}", examples=4)
    suite = folder / "suite.yaml"
    suite.write_text(text.replace("epochs: 1", "epochs: 2"), encoding="utf-8")
    return suite


def environment(**extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("RSBENCH_FAULT")}
    env.update(PYTHONPATH=str(REPO), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1",
               OMP_NUM_THREADS="1", RSBENCH_LOG_LEVEL="INFO", **extra)
    return env


def command(suite: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "harness", "run", str(suite), "--out", str(out), "--no-progress", "--threads", "1"]


def run(suite: Path, out: Path, *, fault: str | None = None, kill_after: float | None = None,
        file_size_limit: int | None = None) -> subprocess.CompletedProcess:
    """Run the suite once; ``fault`` sets RSBENCH_FAULT, ``kill_after`` sends SIGKILL after that many seconds."""
    env = environment(RSBENCH_FAULT=fault) if fault else environment()

    def limit_file_size() -> None:
        # Writes past the limit fail with EFBIG instead of killing the process.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    process = subprocess.Popen(command(suite, out), cwd=REPO, env=env, text=True, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, preexec_fn=limit_file_size if file_size_limit else None)
    try:
        stdout, stderr = process.communicate(timeout=kill_after if kill_after is not None else 600)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def read_store(out: Path) -> dict:
    """Read every table of ``out/results.sqlite`` and check its integrity."""
    connection = sqlite3.connect(out / "results.sqlite")
    connection.row_factory = sqlite3.Row
    try:
        integrity = connection.execute("PRAGMA integrity_check").fetchall()
        assert [row[0] for row in integrity] == ["ok"]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        units = {row["key"]: dict(row) for row in connection.execute("SELECT * FROM units")}
        train = {row["key"]: dict(row) for row in connection.execute("SELECT * FROM train_metrics")}
        attack = {row["key"]: dict(row) for row in connection.execute("SELECT * FROM attack_metrics")}
        examples: dict[str, list[dict]] = {}
        for row in connection.execute("SELECT * FROM attack_examples ORDER BY unit_key, idx"):
            examples.setdefault(row["unit_key"], []).append(dict(row))
    finally:
        connection.close()
    return {"units": units, "train": train, "attack": attack, "examples": examples}


def check_store(out: Path) -> dict:
    """Check that the store contains only complete units, each with its rows and a loadable checkpoint."""
    from harness.models import load_checkpoint

    if not (out / "results.sqlite").exists():
        return {"units": {}, "train": {}, "attack": {}, "examples": {}}
    store = read_store(out)
    for key, unit in store["units"].items():
        assert unit["status"] == "done", f"unit {key} is {unit['status']}: {unit['error']}"
        if unit["kind"] == "train":
            assert key in store["train"], f"train unit {key} has no metrics row"
            assert key not in store["attack"]
            model, _ = load_checkpoint(out / store["train"][key]["checkpoint"])
            assert model.num_labels == 2
        else:
            assert key in store["attack"], f"attack unit {key} has no metrics row"
            rows = store["examples"].get(key, [])
            assert [row["idx"] for row in rows] == list(range(store["attack"][key]["attacked"]))
    assert set(store["train"]) <= set(store["units"])
    assert set(store["attack"]) <= set(store["units"])
    assert set(store["examples"]) <= set(store["attack"])
    return store


def finished_at(store: dict) -> dict[str, tuple[str, float]]:
    return {key: (unit["finished_at"], unit["wall_seconds"]) for key, unit in store["units"].items()}


def staging_entries(out: Path) -> list[str]:
    entries = [path.name for path in out.glob(".leaderboard.*")]
    if (out / "checkpoints").is_dir():
        entries += [path.name for path in (out / "checkpoints").iterdir() if path.name.startswith(".")]
    return sorted(entries)


def summary_counts(stdout: str) -> tuple[int, int, int]:
    match = re.search(r"units: (\d+) computed, (\d+) already stored, (\d+) failed", stdout)
    assert match, stdout
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def process_state(pid: int) -> str:
    """Return the state letter of a Linux process from /proc: R running, S sleeping, T stopped, Z zombie."""
    stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    return stat.rsplit(")", 1)[1].split()[0]


def wait_until_stopped(pid: int, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while process_state(pid) != "T":
        assert process_state(pid) != "Z", f"process {pid} exited before its fault point"
        assert time.monotonic() < deadline, f"process {pid} did not reach its fault point"
        time.sleep(0.2)


def test_killed_runs_resume_to_the_same_store(tmp_path, request):
    import torch

    from harness.models import load_checkpoint

    suite = write_suite(tmp_path)
    # The uninterrupted run goes on in the background while the runs below are killed.
    reference_out = tmp_path / "reference"
    reference = subprocess.Popen(command(suite, reference_out), cwd=REPO, env=environment(), text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    request.addfinalizer(reference.kill)

    out = tmp_path / "out"
    history: list[str] = []
    previous = check_store(out)

    def after_kill(step: str, result: subprocess.CompletedProcess, *, killed: bool = True) -> dict:
        """Check the store after a run and that no unit done before was computed again."""
        nonlocal previous
        history.append(f"{step}: exit {result.returncode}")
        if killed:
            assert result.returncode == KILLED, f"{step}: {result.stderr[-3000:]}"
        store = check_store(out)
        before = finished_at(previous)
        now = finished_at(store)
        for key, stamp in before.items():
            assert now.get(key) == stamp, f"{step}: done unit {key} was recomputed or lost"
        previous = store
        return store

    # 1. Freeze a run in its second training step; a second run on the folder is rejected.
    frozen = subprocess.Popen(command(suite, out), cwd=REPO, text=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=environment(RSBENCH_FAULT="train.step:2", RSBENCH_FAULT_SIGNAL="SIGSTOP"))
    try:
        wait_until_stopped(frozen.pid)
        second = run(suite, out)
        assert second.returncode == 2
        assert "another rsbench run is using this folder" in second.stderr
    finally:
        frozen.kill()
        frozen.wait()
    after_kill("frozen in training, then SIGKILL", subprocess.CompletedProcess(frozen.args, frozen.returncode))
    assert previous["units"] == {}

    # 2. A file size limit makes the checkpoint write fail (EFBIG), like a full disk.
    full = run(suite, out, file_size_limit=2_000_000)
    after_kill("file size limit", full, killed=False)
    assert full.returncode == 2, full.stderr[-3000:]
    assert "cannot write the checkpoint (File too large" in full.stderr
    assert "Traceback" not in full.stderr
    assert previous["units"] == {}
    assert staging_entries(out) == []

    # 3. Between the two epochs of the first training unit.
    started = time.monotonic()
    after_kill("between epochs", run(suite, out, fault="train.epoch_end:1"))
    seconds_to_first_epoch = time.monotonic() - started
    assert previous["units"] == {}

    # 4. With the first checkpoint written to its staging folder, before the rename.
    after_kill("checkpoint staged", run(suite, out, fault="checkpoint.staged:1"))
    assert previous["units"] == {}
    assert len(staging_entries(out)) == 1

    # 5. While the second training unit is written to the store: the first stays, the second is rolled back.
    after_kill("store write", run(suite, out, fault="store.write:2"))
    assert [unit["variant"] for unit in previous["units"].values()] == ["baseline"]
    assert staging_entries(out) == []

    # 6. At random times, from start-up to the attacks; a run that finishes before its kill time is accepted.
    rng = random.Random(RANDOM_KILL_SEED)
    for attempt in range(2):
        delay = rng.uniform(0.3, 1.3) * seconds_to_first_epoch
        result = run(suite, out, kill_after=delay)
        after_kill(f"random kill {attempt + 1} after {delay:.1f} s", result, killed=False)
        assert result.returncode in (KILLED, 0), result.stderr[-3000:]

    # 7. In the middle of an attack, if one is left.
    if sum(unit["kind"] == "attack" for unit in previous["units"].values()) < 2:
        after_kill("during an attack", run(suite, out, fault="attack.example:2"))

    # 8. With the leaderboard written to temporary files, before the renames. A random kill
    # that missed its run left a complete leaderboard, which must stay as it was.
    board_path = out / "leaderboard.json"
    old_board = board_path.read_bytes() if board_path.exists() else None
    after_kill("report staged", run(suite, out, fault="report.staged:1"))
    assert len(previous["units"]) == 4
    assert (board_path.read_bytes() if board_path.exists() else None) == old_board
    assert len(staging_entries(out)) == 2

    # 9. The last run computes nothing and writes the leaderboard.
    final = run(suite, out)
    after_kill("final run", final, killed=False)
    assert final.returncode == 0, final.stderr[-3000:]
    assert summary_counts(final.stdout) == (0, 4, 0), history
    assert staging_entries(out) == []

    stdout, stderr = reference.communicate(timeout=600)
    assert reference.returncode == 0, stderr[-3000:]
    assert summary_counts(stdout) == (4, 0, 0)
    expected = check_store(reference_out)
    assert len(expected["units"]) == 4

    store = previous
    assert set(store["units"]) == set(expected["units"])
    for key, row in expected["train"].items():
        assert {column: store["train"][key][column] for column in TRAIN_COLUMNS} == {column: row[column] for column in TRAIN_COLUMNS}
        model, _ = load_checkpoint(out / row["checkpoint"])
        reference_model, _ = load_checkpoint(reference_out / row["checkpoint"])
        reference_state = reference_model.state_dict()
        for name, tensor in model.state_dict().items():
            assert torch.equal(tensor, reference_state[name]), f"{key}: {name} differs from the uninterrupted run"
    for key, row in expected["attack"].items():
        assert {column: store["attack"][key][column] for column in ATTACK_COLUMNS} == {column: row[column] for column in ATTACK_COLUMNS}
    assert store["examples"] == expected["examples"]

    board = json.loads((out / "leaderboard.json").read_text(encoding="utf-8"))["units"]
    reference_board = json.loads((reference_out / "leaderboard.json").read_text(encoding="utf-8"))["units"]

    def without_timing(units: list[dict]) -> list[dict]:
        return [{name: value for name, value in unit.items() if name not in TIMING_FIELDS} for unit in units]

    assert without_timing(board) == without_timing(reference_board)
    print("\n".join(history))
