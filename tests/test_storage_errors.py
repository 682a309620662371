"""Full disks and read-only folders stop rsbench with a clear error and leave stored results intact.

The tests run as root, and permission bits do not block root's writes, so they simulate
the failures: SQLite's max_page_count for a full database, and patched os.open, os.fsync and
os.access for read-only folders and full disks.
"""

from __future__ import annotations

import errno
import os
import sqlite3

import pytest

import harness.report.render as render_module
from harness.cli.main import main
from harness.errors import StorageError, as_storage_error
from harness.models import load_checkpoint, load_classifier, save_checkpoint
from harness.results import write_leaderboard
from harness.store import Store, UnitIdentity
from harness.suite import ModelSpec
from tests.helpers import tiny_suite_text

TINY = {"num_hidden_layers": 1, "hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64}
METRICS = {"attacked": 1, "skipped": 0, "succeeded": 1, "failed": 0, "robust_accuracy": 0.0, "attack_success_rate": 1.0,
           "mean_perturbed_word_fraction": 0.5, "mean_model_evaluations": 3.0, "mean_queries": 4.0,
           "attack_seconds": 1.0, "attack_examples_per_second": 1.0}


def _unit(key: str) -> UnitIdentity:
    return UnitIdentity(key=key, kind="attack", task="sentiment", dataset="d", dataset_generated=False, model="m",
                        variant="baseline", variant_kind="baseline", attack="deepwordbug", seed=0, train_key="t",
                        config={}, label_names=("neg", "pos"))


def _example(index: int, text: str) -> dict:
    return {"idx": index, "original_text": text, "perturbed_text": text, "label": 1, "original_prediction": 1,
            "perturbed_prediction": 0, "outcome": "succeeded", "words_changed": 1, "words_total": 2,
            "perturbed_word_fraction": 0.5, "model_evaluations": 3, "queries": 4}


def _store_with_one_unit(out) -> None:
    with Store(out / "results.sqlite") as store:
        store.set_meta("suite", "storage")
        store.record_attack(_unit("kept"), METRICS, [_example(0, "kept text")], manifest={"seed": 0},
                            finished_at="2026-01-01T00:00:00+00:00", wall_seconds=1.0)


def _folder_contents(folder):
    """Map each file to its bytes, the database to its SQL dump (a WAL checkpoint rewrites its pages)."""
    contents = {}
    for path in folder.iterdir():
        if not path.is_file() or path.name.startswith(("results.sqlite-", ".rsbench.lock")):
            continue
        if path.name == "results.sqlite":
            with sqlite3.connect(path) as connection:
                contents[path.name] = list(connection.iterdump())
        else:
            contents[path.name] = path.read_bytes()
    return contents


def _read_only_open(monkeypatch, folder, number=errno.EROFS):
    """Make os.open fail with ``number`` for writes under ``folder``, as on a read-only mount."""
    real_open = os.open

    def fake_open(path, flags, *args, **kwargs):
        writing = flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
        if writing and os.fspath(path).startswith(os.fspath(folder)):
            raise OSError(number, os.strerror(number), os.fspath(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", fake_open)


def test_full_database_keeps_earlier_units(tmp_path):
    _store_with_one_unit(tmp_path)
    with Store(tmp_path / "results.sqlite") as store:
        pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
        store._conn.execute(f"PRAGMA max_page_count = {pages + 1}")
        big = [_example(index, "x" * 5000) for index in range(20)]
        with pytest.raises(StorageError, match="cannot write the results database .No space left on device"):
            store.record_attack(_unit("new"), METRICS, big, manifest={}, finished_at="t", wall_seconds=0.0)
        assert store.status("new") is None
    with Store(tmp_path / "results.sqlite", readonly=True) as store:
        assert store._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert [row["key"] for row in store.units()] == ["kept"]
        assert [row["original_text"] for row in store.examples("kept")] == ["kept text"]
        assert store.examples("new") == []


def test_checkpoint_disk_full_keeps_old_checkpoint(tmp_path, monkeypatch):
    model, tokenizer = load_classifier(ModelSpec(source="random", architecture=TINY), ("neg", "pos"), seed=0)
    folder = tmp_path / "checkpoints" / "unit"
    save_checkpoint(model, tokenizer, folder)
    before = {path.name: path.read_bytes() for path in folder.iterdir()}

    class SafetensorError(Exception):
        pass

    def save_fails(*args, **kwargs):
        # The message safetensors 0.4+ gives when the disk fills during a write.
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr(model, "save_pretrained", save_fails)
    with pytest.raises(StorageError, match=r"unit: cannot write the checkpoint \(No space left on device"):
        save_checkpoint(model, tokenizer, folder)
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before
    assert sorted(path.name for path in folder.parent.iterdir()) == ["unit"]
    load_checkpoint(folder)


def test_leaderboard_disk_full_keeps_old_files(tmp_path, monkeypatch):
    _store_with_one_unit(tmp_path)
    json_path, html_path = write_leaderboard(tmp_path)
    old = (json_path.read_bytes(), html_path.read_bytes())

    def fsync_fails(descriptor):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(render_module.os, "fsync", fsync_fails)
    with pytest.raises(StorageError, match="cannot write the leaderboard .No space left on device"):
        write_leaderboard(tmp_path)
    assert (json_path.read_bytes(), html_path.read_bytes()) == old
    assert sorted(path.name for path in tmp_path.iterdir() if path.name.startswith(".leaderboard")) == []


def _csv_suite(tmp_path, sentiment_csv):
    block = f"      source: file\n      path: {sentiment_csv}\n      text_column: review\n      label_column: sentiment"
    suite = tmp_path / "suite.yaml"
    suite.write_text(tiny_suite_text(block), encoding="utf-8")
    return suite


@pytest.mark.parametrize("number, reason", [(errno.EROFS, "Read-only file system"), (errno.EACCES, "Permission denied")])
def test_run_on_unwritable_folder_exits_2(tmp_path, sentiment_csv, monkeypatch, capsys, number, reason):
    out = tmp_path / "out"
    out.mkdir()
    _store_with_one_unit(out)
    before = (out / "results.sqlite").read_bytes()
    _read_only_open(monkeypatch, out, number)

    assert main(["run", str(_csv_suite(tmp_path, sentiment_csv)), "--out", str(out), "--no-progress"]) == 2

    error = capsys.readouterr().err
    assert f"--out {out}: the folder is not writable ({reason}). Choose a writable folder." in error
    assert (out / "results.sqlite").read_bytes() == before
    assert not (out / "checkpoints").exists()


def test_run_when_access_denies_write(tmp_path, sentiment_csv, monkeypatch, capsys):
    out = tmp_path / "out"
    monkeypatch.setattr(os, "access", lambda path, mode, **kwargs: mode != os.W_OK)
    assert main(["run", str(_csv_suite(tmp_path, sentiment_csv)), "--out", str(out), "--no-progress"]) == 2
    assert "the folder is not writable. Choose a writable folder." in capsys.readouterr().err
    assert list(out.iterdir()) == []


def test_report_on_read_only_folder_exits_2(tmp_path, monkeypatch, capsys):
    _store_with_one_unit(tmp_path)
    write_leaderboard(tmp_path)
    before = _folder_contents(tmp_path)
    _read_only_open(monkeypatch, tmp_path)

    assert main(["report", str(tmp_path), "--no-scoring"]) == 2

    error = capsys.readouterr().err
    assert "cannot write the leaderboard (Read-only file system" in error
    assert "Traceback" not in error
    assert _folder_contents(tmp_path) == before


@pytest.mark.parametrize("error, expected", [
    (OSError(errno.ENOSPC, "No space left on device"), "No space left on device"),
    (OSError(errno.EDQUOT, "Disk quota exceeded"), "Disk quota exceeded"),
    (OSError(errno.EFBIG, "File too large"), "File too large"),
    (Exception("Error while serializing: I/O error: Read-only file system (os error 30)"), "Read-only file system"),
])
def test_storage_errors_recognised(error, expected):
    converted = as_storage_error(error, "/out/x", "write x")
    assert isinstance(converted, StorageError)
    assert str(converted).startswith(f"/out/x: cannot write x ({expected}")
    assert "rerun the same command to resume" in str(converted)


@pytest.mark.parametrize("error", [OSError(errno.ENOENT, "No such file"), ValueError("os error 2"), sqlite3.OperationalError("no such table")])
def test_other_errors_not_storage(error):
    assert as_storage_error(error, "/out/x", "write x") is None
