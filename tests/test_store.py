import sqlite3

import pytest

from harness.errors import RsbenchError
from harness.store import Store, UnitIdentity


def _unit(key: str = "k1", kind: str = "attack") -> UnitIdentity:
    return UnitIdentity(key=key, kind=kind, task="sentiment", dataset="d", dataset_generated=False, model="m",
                        variant="baseline", variant_kind="baseline", attack="pwws" if kind == "attack" else None,
                        seed=0, train_key="t1" if kind == "attack" else None, config={"a": 1}, label_names=("neg", "pos"))


_METRICS = {"attacked": 2, "skipped": 0, "succeeded": 1, "failed": 1, "robust_accuracy": 0.5, "attack_success_rate": 0.5,
            "mean_perturbed_word_fraction": 0.1, "mean_model_evaluations": 10.0, "mean_queries": 12.0,
            "attack_seconds": 1.0, "attack_examples_per_second": 2.0}


def _example(index: int, outcome: str = "succeeded") -> dict:
    return {"idx": index, "original_text": "<b>a</b>", "perturbed_text": "b", "label": 1, "original_prediction": 1,
            "perturbed_prediction": 0, "outcome": outcome, "words_changed": 1, "words_total": 1,
            "perturbed_word_fraction": 1.0, "model_evaluations": 3, "queries": 4}


def test_attack_round_trip(tmp_path):
    with Store(tmp_path / "r.sqlite") as store:
        store.record_attack(_unit(), _METRICS, [_example(0), _example(1, "failed")], manifest={"seed": 0},
                            finished_at="2026-01-01T00:00:00+00:00", wall_seconds=1.5)
        assert store.status("k1") == "done"
        assert store.attack_metrics()["k1"]["robust_accuracy"] == 0.5
        assert [row["outcome"] for row in store.examples("k1")] == ["succeeded", "failed"]
        assert store.examples("k1")[0]["original_text"] == "<b>a</b>"


def test_failed_insert_leaves_nothing(tmp_path):
    with Store(tmp_path / "r.sqlite") as store:
        bad = [_example(0), _example(0)]  # duplicate primary key fails mid-transaction
        with pytest.raises(sqlite3.IntegrityError):
            store.record_attack(_unit(), _METRICS, bad, manifest={}, finished_at="t", wall_seconds=0.0)
        assert store.status("k1") is None
        assert store.attack_metrics() == {}
        assert store.examples() == []


def test_rerecord_replaces_failure(tmp_path):
    with Store(tmp_path / "r.sqlite") as store:
        store.record_failure(_unit(), "RuntimeError: boom", manifest={}, finished_at="t", wall_seconds=0.0)
        assert store.status("k1") == "failed"
        store.record_attack(_unit(), _METRICS, [_example(0)], manifest={}, finished_at="t", wall_seconds=0.0)
        assert store.status("k1") == "done"
        assert len(store.units()) == 1


def test_results_survive_reopen(tmp_path):
    path = tmp_path / "r.sqlite"
    with Store(path) as store:
        store.record_attack(_unit(), _METRICS, [_example(0)], manifest={}, finished_at="t", wall_seconds=0.0)
    with Store(path) as store:
        assert store.status("k1") == "done"
        assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_not_a_database(tmp_path):
    path = tmp_path / "r.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(RsbenchError, match="cannot open the results database"):
        Store(path)


def test_foreign_database_rejected(tmp_path):
    path = tmp_path / "r.sqlite"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE units (id INTEGER)")
    connection.commit()
    connection.close()
    with pytest.raises(RsbenchError, match="not an rsbench results database"):
        Store(path)


def test_readonly_open_writes_nothing(tmp_path):
    path = tmp_path / "r.sqlite"
    with Store(path) as store:
        store.set_meta("suite", "demo")
    before = path.read_bytes()
    with Store(path, readonly=True) as store:
        assert store.meta("suite") == "demo"
        with pytest.raises(sqlite3.OperationalError):
            store.set_meta("suite", "other")
    assert path.read_bytes() == before
