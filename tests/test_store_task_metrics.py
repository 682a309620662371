"""Task metrics, example details and the in-place upgrade of a schema-3 store."""

import sqlite3

from harness.store import SCHEMA_VERSION, Store, UnitIdentity
from tests.test_store import _METRICS, _example, _unit

# The two tables whose layout schema version 4 changed, as schema version 3 created them.
_V3_TABLES = """
CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE units (
    key TEXT PRIMARY KEY, kind TEXT NOT NULL CHECK (kind IN ('train', 'attack')), task TEXT NOT NULL,
    dataset TEXT NOT NULL, dataset_generated INTEGER NOT NULL, model TEXT NOT NULL, variant TEXT NOT NULL,
    variant_kind TEXT NOT NULL, attack TEXT, seed INTEGER NOT NULL, train_key TEXT,
    status TEXT NOT NULL CHECK (status IN ('done', 'failed')), error TEXT, config_json TEXT NOT NULL,
    label_names_json TEXT NOT NULL, manifest_json TEXT NOT NULL, finished_at TEXT NOT NULL, wall_seconds REAL NOT NULL
);
CREATE TABLE train_metrics (
    key TEXT PRIMARY KEY REFERENCES units(key) ON DELETE CASCADE,
    clean_accuracy REAL NOT NULL, clean_macro_f1 REAL NOT NULL, train_examples INTEGER NOT NULL,
    test_examples INTEGER NOT NULL, train_seconds REAL NOT NULL, train_examples_per_second REAL NOT NULL,
    eval_examples_per_second REAL NOT NULL, final_loss REAL NOT NULL, checkpoint TEXT NOT NULL
);
CREATE TABLE attack_examples (
    unit_key TEXT NOT NULL REFERENCES units(key) ON DELETE CASCADE, idx INTEGER NOT NULL,
    original_text TEXT NOT NULL, perturbed_text TEXT NOT NULL, label INTEGER NOT NULL,
    original_prediction INTEGER NOT NULL, perturbed_prediction INTEGER NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('succeeded', 'failed', 'skipped')), words_changed INTEGER NOT NULL,
    words_total INTEGER NOT NULL, perturbed_word_fraction REAL NOT NULL, model_evaluations INTEGER NOT NULL,
    queries INTEGER NOT NULL, PRIMARY KEY (unit_key, idx)
);
INSERT INTO meta VALUES ('schema_version', '3');
INSERT INTO units VALUES ('t1', 'train', 'sentiment', 'd', 0, 'm', 'baseline', 'baseline', NULL, 0, NULL, 'done', NULL,
    '{}', '["neg", "pos"]', '{}', '2026-01-01T00:00:00+00:00', 1.0);
INSERT INTO train_metrics VALUES ('t1', 0.75, 0.7, 10, 5, 1.0, 10.0, 20.0, 0.3, 'checkpoints/t1');
INSERT INTO units VALUES ('a1', 'attack', 'sentiment', 'd', 0, 'm', 'baseline', 'baseline', 'pwws', 0, 't1', 'done', NULL,
    '{}', '["neg", "pos"]', '{}', '2026-01-01T00:00:00+00:00', 1.0);
INSERT INTO attack_examples VALUES ('a1', 0, 'good film', 'fine film', 1, 1, 0, 'succeeded', 1, 2, 0.5, 3, 4);
"""

_TRAIN_METRICS = {"clean_accuracy": None, "clean_macro_f1": None, "train_examples": 10, "test_examples": 5,
                  "train_seconds": 1.0, "train_examples_per_second": 10.0, "eval_examples_per_second": 20.0,
                  "final_loss": 0.3, "checkpoint": "checkpoints/n1"}


def _ner_unit(key: str) -> UnitIdentity:
    return UnitIdentity(key=key, kind="train", task="tweets", dataset="wnut16", dataset_generated=False, model="m",
                        variant="baseline", variant_kind="baseline", attack=None, seed=0, train_key=None,
                        config={"task": {"type": "ner"}}, label_names=("O", "B-PER", "I-PER"))


def test_task_metrics_round_trip(tmp_path):
    with Store(tmp_path / "r.sqlite") as store:
        store.record_train(_ner_unit("n1"), _TRAIN_METRICS, manifest={}, finished_at="t", wall_seconds=1.0,
                           task_metrics={"clean.entity_f1": 0.5, "clean.f1.PER": 0.25})
        store.record_attack(_unit("a2"), _METRICS, [_example(0)], manifest={}, finished_at="t", wall_seconds=1.0,
                            task_metrics={"robust.entity_f1": 0.125})
        metrics = store.task_metrics()
        assert metrics["n1"] == {"clean.entity_f1": 0.5, "clean.f1.PER": 0.25}
        assert metrics["a2"] == {"robust.entity_f1": 0.125}
        assert store.train_metrics()["n1"]["clean_accuracy"] is None


def test_example_details_stored_as_json(tmp_path):
    example = {**_example(0), "details": {"gold": [["PER", 0, 2]], "text": "<script>"}}
    with Store(tmp_path / "r.sqlite") as store:
        store.record_attack(_unit(), _METRICS, [example, _example(1)], manifest={}, finished_at="t", wall_seconds=1.0)
        rows = store.examples("k1")
    assert rows[0]["details_json"] == '{"gold": [["PER", 0, 2]], "text": "<script>"}'
    assert rows[1]["details_json"] is None


def test_rerun_replaces_task_metrics(tmp_path):
    with Store(tmp_path / "r.sqlite") as store:
        for value in (0.5, 0.75):
            store.record_train(_ner_unit("n1"), _TRAIN_METRICS, manifest={}, finished_at="t", wall_seconds=1.0,
                               task_metrics={"clean.entity_f1": value})
        assert store.task_metrics()["n1"] == {"clean.entity_f1": 0.75}


def test_schema_3_store_upgraded_in_place(tmp_path):
    path = tmp_path / "r.sqlite"
    connection = sqlite3.connect(path)
    connection.executescript(_V3_TABLES)
    connection.close()

    with Store(path, readonly=True) as store:
        assert store.examples("a1")[0]["perturbed_text"] == "fine film"
        assert store.task_metrics() == {}

    with Store(path) as store:
        assert store.meta("schema_version") == str(SCHEMA_VERSION)
        assert store.train_metrics()["t1"]["clean_accuracy"] == 0.75
        assert store.examples("a1")[0]["details_json"] is None
        store.record_train(_ner_unit("n1"), _TRAIN_METRICS, manifest={}, finished_at="t", wall_seconds=1.0,
                           task_metrics={"clean.entity_f1": 0.5})
        assert store.train_metrics()["n1"]["clean_accuracy"] is None

    check = sqlite3.connect(path)
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert check.execute("PRAGMA foreign_key_check").fetchall() == []
    tables = {row[0] for row in check.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "train_metrics_v3" not in tables
    check.close()
