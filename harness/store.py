"""SQLite store of unit results: one row per unit, keyed by the unit's content hash.

One process writes; every unit's results are written in a single transaction, so an
interrupted run leaves either the whole unit or nothing. The database runs in WAL mode.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import RsbenchError, as_storage_error
from harness.faults import fault_point

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 4
# Versions that this code upgrades in place. Version 2 added example_validity and version 3
# unit_resources; _SCHEMA creates both when they are missing, and older units keep no
# resource rows (peak memory shows as not measured). Version 4 added unit_metrics (the
# metrics of tasks other than classification) and attack_examples.details_json, and made
# train_metrics' accuracy and macro-F1 nullable, because NER and QA score neither;
# _upgrade_to_v4 makes those two changes to an older store.
_UPGRADABLE_VERSIONS = {"1", "2", "3"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS units (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('train', 'attack')),
    task TEXT NOT NULL,
    dataset TEXT NOT NULL,
    dataset_generated INTEGER NOT NULL,
    model TEXT NOT NULL,
    variant TEXT NOT NULL,
    variant_kind TEXT NOT NULL,
    attack TEXT,
    seed INTEGER NOT NULL,
    train_key TEXT,
    status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
    error TEXT,
    config_json TEXT NOT NULL,
    label_names_json TEXT NOT NULL,
    manifest_json TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    wall_seconds REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS train_metrics (
    key TEXT PRIMARY KEY REFERENCES units(key) ON DELETE CASCADE,
    clean_accuracy REAL,
    clean_macro_f1 REAL,
    train_examples INTEGER NOT NULL,
    test_examples INTEGER NOT NULL,
    train_seconds REAL NOT NULL,
    train_examples_per_second REAL NOT NULL,
    eval_examples_per_second REAL NOT NULL,
    final_loss REAL NOT NULL,
    checkpoint TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS attack_metrics (
    key TEXT PRIMARY KEY REFERENCES units(key) ON DELETE CASCADE,
    attacked INTEGER NOT NULL,
    skipped INTEGER NOT NULL,
    succeeded INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    robust_accuracy REAL NOT NULL,
    attack_success_rate REAL NOT NULL,
    mean_perturbed_word_fraction REAL NOT NULL,
    mean_model_evaluations REAL NOT NULL,
    mean_queries REAL NOT NULL,
    attack_seconds REAL NOT NULL,
    attack_examples_per_second REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS attack_examples (
    unit_key TEXT NOT NULL REFERENCES units(key) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    original_text TEXT NOT NULL,
    perturbed_text TEXT NOT NULL,
    label INTEGER NOT NULL,
    original_prediction INTEGER NOT NULL,
    perturbed_prediction INTEGER NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('succeeded', 'failed', 'skipped')),
    words_changed INTEGER NOT NULL,
    words_total INTEGER NOT NULL,
    perturbed_word_fraction REAL NOT NULL,
    model_evaluations INTEGER NOT NULL,
    queries INTEGER NOT NULL,
    details_json TEXT,
    PRIMARY KEY (unit_key, idx)
);
CREATE TABLE IF NOT EXISTS example_validity (
    unit_key TEXT NOT NULL,
    idx INTEGER NOT NULL,
    similarity REAL,
    similarity_scorer TEXT,
    perplexity_original REAL,
    perplexity_perturbed REAL,
    fluency_scorer TEXT,
    PRIMARY KEY (unit_key, idx),
    FOREIGN KEY (unit_key, idx) REFERENCES attack_examples(unit_key, idx) ON DELETE CASCADE
);
CREATE TABLE IF NOT EXISTS unit_metrics (
    key TEXT NOT NULL REFERENCES units(key) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value REAL,
    PRIMARY KEY (key, name)
);
CREATE TABLE IF NOT EXISTS unit_resources (
    key TEXT PRIMARY KEY REFERENCES units(key) ON DELETE CASCADE,
    peak_rss_bytes INTEGER,
    peak_gpu_bytes INTEGER
);
"""


@dataclass(frozen=True)
class UnitIdentity:
    """The columns that name a unit in the store and the leaderboard."""

    key: str
    kind: str
    task: str
    dataset: str
    dataset_generated: bool
    model: str
    variant: str
    variant_kind: str
    attack: str | None
    seed: int
    train_key: str | None
    config: dict[str, Any]
    label_names: tuple[str, ...]


class Store:
    """Access to ``results.sqlite`` of one output folder."""

    def __init__(self, path: Path, *, readonly: bool = False):
        """Open (and, unless ``readonly``, create) the database at ``path``.

        Raises:
            RsbenchError: the file is not an rsbench results database of this schema version,
                or cannot be opened or created.
        """
        self.path = path
        self._readonly = readonly
        try:
            if readonly:
                self._conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30.0, isolation_level=None)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._conn = sqlite3.connect(path, timeout=30.0, isolation_level=None)
            self._conn.row_factory = sqlite3.Row
            self._check_foreign_tables()
            if not readonly:
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA foreign_keys=ON")
                self._conn.execute("PRAGMA synchronous=FULL")
                self._conn.executescript(_SCHEMA)
            self._check_schema_version(readonly)
        except sqlite3.DatabaseError as exc:
            storage_error = None if readonly else as_storage_error(exc, path, "open the results database for writing")
            if storage_error is not None:
                raise storage_error from None
            raise RsbenchError(f"{path}: cannot open the results database: {exc}. Use another output folder or restore the file.") from None
        except OSError as exc:
            raise RsbenchError(f"{path.parent}: cannot create the output folder: {exc}. Choose a writable --out folder.") from None

    def _check_foreign_tables(self) -> None:
        tables = {row[0] for row in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables and "meta" not in tables:
            raise RsbenchError(f"{self.path}: not an rsbench results database (tables: {', '.join(sorted(tables))}). Use another output folder.")

    def _check_schema_version(self, readonly: bool) -> None:
        row = self._conn.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
        if row is None and not readonly:
            self._conn.execute("INSERT INTO meta (name, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif row is not None and row["value"] in _UPGRADABLE_VERSIONS:
            # Opened for writing, _SCHEMA has created the tables added since; opened read-only,
            # the readers treat those tables as empty and the missing column as NULL.
            if not readonly:
                self._upgrade_to_v4()
                self.set_meta("schema_version", str(SCHEMA_VERSION))
        elif row is None or int(row["value"]) != SCHEMA_VERSION:
            found = "none" if row is None else row["value"]
            raise RsbenchError(f"{self.path}: schema version {found}, this rsbench reads {SCHEMA_VERSION}. Use a new output folder.")

    def _upgrade_to_v4(self) -> None:
        """Add attack_examples.details_json and drop NOT NULL from train_metrics' accuracy columns, in one transaction."""
        with self._transaction():
            example_columns = {column["name"] for column in self._conn.execute("PRAGMA table_info(attack_examples)")}
            if "details_json" not in example_columns:
                self._conn.execute("ALTER TABLE attack_examples ADD COLUMN details_json TEXT")
            required = {column["name"] for column in self._conn.execute("PRAGMA table_info(train_metrics)") if column["notnull"]}
            if "clean_accuracy" in required:
                # SQLite cannot drop a NOT NULL constraint in place, so the table is rebuilt.
                self._conn.execute("ALTER TABLE train_metrics RENAME TO train_metrics_v3")
                table = _SCHEMA[_SCHEMA.index("CREATE TABLE IF NOT EXISTS train_metrics"):]
                self._conn.execute(table[: table.index(");") + 2])
                self._conn.execute("INSERT INTO train_metrics SELECT * FROM train_metrics_v3")
                self._conn.execute("DROP TABLE train_metrics_v3")

    def meta(self, name: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else row["value"]

    def set_meta(self, name: str, value: str) -> None:
        with self._transaction():
            self._conn.execute("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", (name, value))

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # Reading

    def status(self, key: str) -> str | None:
        row = self._conn.execute("SELECT status FROM units WHERE key = ?", (key,)).fetchone()
        return None if row is None else row["status"]

    def checkpoint(self, key: str) -> Path | None:
        row = self._conn.execute("SELECT checkpoint FROM train_metrics WHERE key = ?", (key,)).fetchone()
        return None if row is None else Path(row["checkpoint"])

    def units(self) -> list[sqlite3.Row]:
        return self._conn.execute("SELECT * FROM units ORDER BY task, model, variant, seed, attack").fetchall()

    def train_metrics(self) -> dict[str, sqlite3.Row]:
        return {row["key"]: row for row in self._conn.execute("SELECT * FROM train_metrics")}

    def attack_metrics(self) -> dict[str, sqlite3.Row]:
        return {row["key"]: row for row in self._conn.execute("SELECT * FROM attack_metrics")}

    def examples(self, unit_key: str | None = None) -> list[sqlite3.Row]:
        if unit_key is None:
            return self._conn.execute("SELECT * FROM attack_examples ORDER BY unit_key, idx").fetchall()
        return self._conn.execute("SELECT * FROM attack_examples WHERE unit_key = ? ORDER BY idx", (unit_key,)).fetchall()

    def validity_examples(self, unit_key: str | None = None) -> list[sqlite3.Row]:
        """Return every successful attack with its stored validity scores (NULL columns when unscored)."""
        if not self._has_table("example_validity"):
            query = ("SELECT unit_key, idx, original_text, perturbed_text, NULL AS similarity, NULL AS similarity_scorer,"
                     " NULL AS perplexity_original, NULL AS perplexity_perturbed, NULL AS fluency_scorer FROM attack_examples e")
        else:
            query = ("SELECT e.unit_key, e.idx, e.original_text, e.perturbed_text, v.similarity, v.similarity_scorer,"
                     " v.perplexity_original, v.perplexity_perturbed, v.fluency_scorer"
                     " FROM attack_examples e LEFT JOIN example_validity v ON v.unit_key = e.unit_key AND v.idx = e.idx")
        query += " WHERE e.outcome = 'succeeded'"
        if unit_key is None:
            return self._conn.execute(query + " ORDER BY e.unit_key, e.idx").fetchall()
        return self._conn.execute(query + " AND e.unit_key = ? ORDER BY e.idx", (unit_key,)).fetchall()

    def task_metrics(self) -> dict[str, dict[str, float | None]]:
        """Return the task metrics of each unit by unit key (``clean.*`` for training units, ``robust.*`` and ``attacked_clean.*`` for attacks)."""
        if not self._has_table("unit_metrics"):
            return {}
        metrics: dict[str, dict[str, float | None]] = {}
        for row in self._conn.execute("SELECT key, name, value FROM unit_metrics ORDER BY key, name"):
            metrics.setdefault(row["key"], {})[row["name"]] = row["value"]
        return metrics

    def unit_resources(self) -> dict[str, sqlite3.Row]:
        """Return the peak memory of each unit that has it, by unit key; empty for a store from before schema version 3."""
        if not self._has_table("unit_resources"):
            return {}
        return {row["key"]: row for row in self._conn.execute("SELECT * FROM unit_resources")}

    def _has_table(self, name: str) -> bool:
        return self._conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None

    # Writing: each method is one transaction that replaces any earlier row of the unit.

    def record_validity(self, scores: Sequence[dict[str, Any]]) -> None:
        """Write validity scores of examples in one transaction, replacing earlier scores of the same examples.

        Each mapping has the columns of ``example_validity``; the caller writes one unit at a time.
        """
        with self._transaction():
            self._conn.executemany(
                "INSERT OR REPLACE INTO example_validity (unit_key, idx, similarity, similarity_scorer, perplexity_original,"
                " perplexity_perturbed, fluency_scorer) VALUES (:unit_key, :idx, :similarity, :similarity_scorer,"
                " :perplexity_original, :perplexity_perturbed, :fluency_scorer)",
                scores,
            )

    def record_train(self, unit: UnitIdentity, metrics: dict[str, Any], *, manifest: dict[str, Any], finished_at: str,
                     wall_seconds: float, resources: dict[str, int | None] | None = None,
                     task_metrics: dict[str, float] | None = None) -> None:
        """Write a finished training unit.

        ``resources`` contains ``peak_rss_bytes`` and ``peak_gpu_bytes`` when measured;
        ``task_metrics`` maps metric names to values.
        """
        with self._transaction():
            self._insert_unit(unit, "done", None, manifest, finished_at, wall_seconds)
            self._insert_resources(unit.key, resources)
            self._insert_task_metrics(unit.key, task_metrics)
            self._conn.execute(
                "INSERT INTO train_metrics (key, clean_accuracy, clean_macro_f1, train_examples, test_examples, train_seconds,"
                " train_examples_per_second, eval_examples_per_second, final_loss, checkpoint)"
                " VALUES (:key, :clean_accuracy, :clean_macro_f1, :train_examples, :test_examples, :train_seconds,"
                " :train_examples_per_second, :eval_examples_per_second, :final_loss, :checkpoint)",
                {"key": unit.key, **metrics},
            )

    def record_attack(self, unit: UnitIdentity, metrics: dict[str, Any], examples: Sequence[dict[str, Any]], *,
                      manifest: dict[str, Any], finished_at: str, wall_seconds: float,
                      resources: dict[str, int | None] | None = None, task_metrics: dict[str, float] | None = None) -> None:
        """Write a finished attack unit and its examples; ``resources`` and ``task_metrics`` as in ``record_train``.

        An example's ``details`` (a JSON-serialisable dict or None) is stored as ``details_json``.
        """
        with self._transaction():
            self._insert_unit(unit, "done", None, manifest, finished_at, wall_seconds)
            self._insert_resources(unit.key, resources)
            self._insert_task_metrics(unit.key, task_metrics)
            self._conn.execute(
                "INSERT INTO attack_metrics (key, attacked, skipped, succeeded, failed, robust_accuracy, attack_success_rate,"
                " mean_perturbed_word_fraction, mean_model_evaluations, mean_queries, attack_seconds, attack_examples_per_second)"
                " VALUES (:key, :attacked, :skipped, :succeeded, :failed, :robust_accuracy, :attack_success_rate,"
                " :mean_perturbed_word_fraction, :mean_model_evaluations, :mean_queries, :attack_seconds, :attack_examples_per_second)",
                {"key": unit.key, **metrics},
            )
            self._conn.executemany(
                "INSERT INTO attack_examples (unit_key, idx, original_text, perturbed_text, label, original_prediction,"
                " perturbed_prediction, outcome, words_changed, words_total, perturbed_word_fraction, model_evaluations, queries,"
                " details_json)"
                " VALUES (:unit_key, :idx, :original_text, :perturbed_text, :label, :original_prediction,"
                " :perturbed_prediction, :outcome, :words_changed, :words_total, :perturbed_word_fraction, :model_evaluations, :queries,"
                " :details_json)",
                [_example_row(unit.key, example) for example in examples],
            )

    def record_failure(self, unit: UnitIdentity, error: str, *, manifest: dict[str, Any], finished_at: str, wall_seconds: float) -> None:
        with self._transaction():
            self._insert_unit(unit, "failed", error, manifest, finished_at, wall_seconds)

    def _insert_task_metrics(self, key: str, metrics: dict[str, float] | None) -> None:
        if metrics:
            self._conn.executemany("INSERT INTO unit_metrics (key, name, value) VALUES (?, ?, ?)",
                                   [(key, name, None if value is None else float(value)) for name, value in metrics.items()])

    def _insert_resources(self, key: str, resources: dict[str, int | None] | None) -> None:
        if resources is None:
            return
        self._conn.execute(
            "INSERT INTO unit_resources (key, peak_rss_bytes, peak_gpu_bytes) VALUES (?, ?, ?)",
            (key, resources.get("peak_rss_bytes"), resources.get("peak_gpu_bytes")),
        )

    def _insert_unit(self, unit: UnitIdentity, status: str, error: str | None, manifest: dict[str, Any],
                     finished_at: str, wall_seconds: float) -> None:
        self._conn.execute("DELETE FROM units WHERE key = ?", (unit.key,))
        self._conn.execute(
            "INSERT INTO units (key, kind, task, dataset, dataset_generated, model, variant, variant_kind, attack, seed,"
            " train_key, status, error, config_json, label_names_json, manifest_json, finished_at, wall_seconds)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (unit.key, unit.kind, unit.task, unit.dataset, int(unit.dataset_generated), unit.model, unit.variant,
             unit.variant_kind, unit.attack, unit.seed, unit.train_key, status, error,
             json.dumps(unit.config, sort_keys=True), json.dumps(list(unit.label_names)), json.dumps(manifest, sort_keys=True), finished_at, wall_seconds),
        )
        fault_point("store.write")

    def _transaction(self) -> "_Transaction":
        # A write through a read-only Store is a programming error, reported as SQLite raises it.
        return _Transaction(self._conn, None if self._readonly else self.path)


def _example_row(unit_key: str, example: dict[str, Any]) -> dict[str, Any]:
    row = {"unit_key": unit_key, **example}
    details = row.pop("details", None)
    row["details_json"] = None if details is None else json.dumps(details, sort_keys=True, allow_nan=False)
    return row


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception (KeyboardInterrupt included).

    A write that fails because the disk is full or the file is read-only raises
    :class:`~harness.errors.StorageError` after the rollback.
    """

    def __init__(self, conn: sqlite3.Connection, path: Path | None):
        self._conn = conn
        self._path = path

    def __enter__(self) -> None:
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            self._raise_storage_error(exc)
            raise

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: object) -> None:
        if exc is None:
            try:
                self._conn.execute("COMMIT")
                return
            except sqlite3.OperationalError as commit_error:
                self._rollback()
                self._raise_storage_error(commit_error)
                raise
        self._rollback()
        self._raise_storage_error(exc)

    def _rollback(self) -> None:
        if not self._conn.in_transaction:
            return  # SQLite already rolled back, as it does after some I/O errors
        try:
            self._conn.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            logger.warning("rollback of %s failed: %s; SQLite discards the transaction when the file is next opened", self._path, exc)

    def _raise_storage_error(self, exc: BaseException) -> None:
        if self._path is None:
            return
        storage_error = as_storage_error(exc, self._path, "write the results database")
        if storage_error is not None and storage_error is not exc:
            raise storage_error from exc

