"""Scoring a store: idempotent, resumable, one transaction per unit, and the store migration."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from harness.errors import RsbenchError
from harness.results import collect_examples, collect_rows, write_leaderboard
from harness.store import SCHEMA_VERSION, Store
from harness.validity.params import ValidityParams
from harness.validity.scorers import PerplexityScorer, SimilarityScorer
from harness.validity.scoring import Scorers, score_missing
from tests.validity.conftest import example, record_attack, record_train

ORIGINAL = "the plot is clever and the acting superb"
EXAMPLES = [
    example(0, ORIGINAL, "the plot is clever and the acting superb indeed"),
    example(1, "a dull film", "a dull film", outcome="failed"),
    example(2, "boring and long", "boring and long", outcome="skipped"),
    example(3, "funny and warm", "funny and cold"),
]


def bag_encoder(texts: list[str]) -> np.ndarray:
    """Count letters, a deterministic stand-in for sentence embeddings."""
    return np.array([[text.count(letter) for letter in "abcdefghijklmnopqrstuvwxyz"] for text in texts], dtype=float)


@pytest.fixture
def make_scorers(tiny_llama, bert_tokenizer):
    def build(params: ValidityParams) -> Scorers:
        return Scorers(params, similarity_factory=lambda: SimilarityScorer(bag_encoder, name="bag"), similarity_name="bag",
                       perplexity_factory=lambda: PerplexityScorer(tiny_llama, bert_tokenizer, name="tiny"), fluency_name="tiny")

    return build


def test_scores_only_successful_attacks(tmp_path, make_scorers):
    with Store(tmp_path / "r.sqlite") as store:
        record_attack(store, "a1", EXAMPLES)
        report = score_missing(store, ValidityParams(), scorers=make_scorers(ValidityParams()))
        rows = {row["idx"]: row for row in store.validity_examples("a1")}
    assert report.examples == 2
    assert sorted(rows) == [0, 3]
    assert rows[3]["similarity"] < rows[0]["similarity"] <= 1.0
    assert rows[0]["perplexity_original"] > 1.0
    assert rows[0]["fluency_scorer"] == "tiny"


def test_second_pass_scores_nothing(tmp_path, make_scorers):
    with Store(tmp_path / "r.sqlite") as store:
        record_attack(store, "a1", EXAMPLES)
        score_missing(store, ValidityParams(), scorers=make_scorers(ValidityParams()))
        scorers = make_scorers(ValidityParams())
        report = score_missing(store, ValidityParams(), scorers=scorers)
    assert report.examples == 0
    # Nothing pending, so no scorer was built.
    assert scorers.load_seconds == 0.0


def test_shared_originals_scored_once(tmp_path, make_scorers):
    params = ValidityParams()
    with Store(tmp_path / "r.sqlite") as store:
        record_attack(store, "a1", [example(0, ORIGINAL, "the plot is clever and the acting great")])
        record_attack(store, "a2", [example(0, ORIGINAL, "the plot is smart and the acting superb")])
        report = score_missing(store, params, scorers=make_scorers(params))
    assert report.units == 2
    assert report.texts_perplexity == 3


def test_fluency_added_later(tmp_path, make_scorers):
    without = ValidityParams(fluency_model="none")
    with Store(tmp_path / "r.sqlite") as store:
        record_attack(store, "a1", EXAMPLES)
        score_missing(store, without, scorers=make_scorers(without))
        assert all(row["perplexity_original"] is None for row in store.validity_examples())
        report = score_missing(store, ValidityParams(), scorers=make_scorers(ValidityParams()))
        rows = store.validity_examples()
    assert report.examples == 2
    assert report.texts_embedded == 0
    assert all(row["perplexity_perturbed"] is not None and row["similarity_scorer"] == "bag" for row in rows)


def test_new_scorer_version_rescored(tmp_path, make_scorers, tiny_llama, bert_tokenizer):
    params = ValidityParams(fluency_model="none")
    with Store(tmp_path / "r.sqlite") as store:
        record_attack(store, "a1", EXAMPLES)
        score_missing(store, params, scorers=make_scorers(params))
        newer = Scorers(params, similarity_factory=lambda: SimilarityScorer(bag_encoder, name="bag-2"), similarity_name="bag-2")
        report = score_missing(store, params, scorers=newer)
        names = {row["similarity_scorer"] for row in store.validity_examples()}
    assert report.examples == 2
    assert names == {"bag-2"}


def test_failing_unit_keeps_finished_units(tmp_path):
    params = ValidityParams(fluency_model="none")
    def encode(texts: list[str]) -> np.ndarray:
        # Ctrl-C while the second unit is being scored.
        if "a great cast" in texts:
            raise KeyboardInterrupt
        return bag_encoder(texts)

    with Store(tmp_path / "r.sqlite") as store:
        record_attack(store, "a1", [example(0, "funny and warm", "funyn and warm")])
        record_attack(store, "a2", [example(0, "a great cast", "a graet cast")])
        scorers = Scorers(params, similarity_factory=lambda: SimilarityScorer(encode, name="bag", batch_size=64), similarity_name="bag")
        with pytest.raises(KeyboardInterrupt):
            score_missing(store, params, scorers=scorers)
        scored = {row["unit_key"] for row in store.validity_examples() if row["similarity"] is not None}
        resumed = score_missing(store, params, scorers=Scorers(params, similarity_factory=lambda: SimilarityScorer(bag_encoder, name="bag"),
                                                               similarity_name="bag"))
    assert scored == {"a1"}
    assert resumed.unit_keys == ["a2"]


def test_reattacked_unit_drops_scores(tmp_path, make_scorers):
    params = ValidityParams(fluency_model="none")
    with Store(tmp_path / "r.sqlite") as store:
        record_attack(store, "a1", EXAMPLES)
        score_missing(store, params, scorers=make_scorers(params))
        record_attack(store, "a1", EXAMPLES)
        assert all(row["similarity"] is None for row in store.validity_examples("a1"))


def test_leaderboard_rows_carry_validity(tmp_path, make_scorers):
    params = ValidityParams(min_similarity=0.0, max_perplexity_ratio=1e9)
    with Store(tmp_path / "r.sqlite") as store:
        record_train(store)
        record_attack(store, "a1", EXAMPLES)
        [before] = collect_rows(store, validity=params)
        score_missing(store, params, scorers=make_scorers(params))
        [after] = collect_rows(store, validity=params)
        [strict] = collect_rows(store, validity=ValidityParams(min_similarity=1.0))
    assert before.robust_accuracy_valid is None
    assert after.robust_accuracy == pytest.approx(1 / 4)
    assert after.robust_accuracy_valid == pytest.approx(1 / 4)
    assert after.valid_attack_share == 1.0
    assert after.mean_perplexity_ratio > 0
    # No perturbed text has the letter counts of its original, so a similarity of 1 rejects every attack.
    assert strict.robust_accuracy_valid == pytest.approx(3 / 4)
    assert strict.valid_attack_share == 0.0


def test_leaderboard_json_and_html(tmp_path, make_scorers):
    params = ValidityParams(fluency_model="none", min_similarity=0.9)
    with Store(tmp_path / "results.sqlite") as store:
        record_train(store)
        record_attack(store, "a1", EXAMPLES)
        score_missing(store, params, scorers=make_scorers(params))
    json_path, html_path = write_leaderboard(tmp_path, "tiny", params)
    document = json.loads(json_path.read_text(encoding="utf-8"))
    [unit] = document["units"]
    html = html_path.read_text(encoding="utf-8")
    assert document["manifest"]["validity_thresholds"] == {"min_similarity": 0.9, "max_perplexity_ratio": None, "fluency_model": "none"}
    assert unit["robust_accuracy_valid"] == pytest.approx((1 + 2 - 2 * unit["valid_attack_share"]) / 4)
    assert "Robust accuracy (valid attacks only)" in html
    assert "is at least 0.9 (fluency is not scored)" in html


def version_1_store(path) -> None:
    """Write a store as rsbench with schema version 1 left it: no example_validity table."""
    with Store(path) as store:
        record_train(store)
        record_attack(store, "a1", EXAMPLES)
    connection = sqlite3.connect(path)
    connection.execute("DROP TABLE example_validity")
    connection.execute("UPDATE meta SET value = '1' WHERE name = 'schema_version'")
    connection.commit()
    connection.close()


def test_version_1_store_read_only(tmp_path):
    path = tmp_path / "results.sqlite"
    version_1_store(path)
    with Store(path, readonly=True) as store:
        rows = store.validity_examples()
        [row] = collect_rows(store)
    assert [item["similarity"] for item in rows] == [None, None]
    assert row.robust_accuracy_valid is None
    assert row.robust_accuracy == pytest.approx(1 / 4)


def test_version_1_store_migrated(tmp_path, make_scorers):
    path = tmp_path / "results.sqlite"
    version_1_store(path)
    params = ValidityParams(fluency_model="none")
    with Store(path) as store:
        assert store.meta("schema_version") == str(SCHEMA_VERSION)
        report = score_missing(store, params, scorers=make_scorers(params))
    assert report.examples == 2
    with Store(path, readonly=True) as store:
        assert len(store.validity_examples()) == 2
        assert all(row["similarity"] is not None for row in store.validity_examples())


def test_newer_schema_rejected(tmp_path):
    path = tmp_path / "results.sqlite"
    with Store(path):
        pass
    connection = sqlite3.connect(path)
    connection.execute("UPDATE meta SET value = ? WHERE name = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    connection.commit()
    connection.close()
    with pytest.raises(RsbenchError, match=f"schema version {SCHEMA_VERSION + 1}"):
        Store(path)


def test_html_validity_cells(tmp_path, make_scorers):
    params = ValidityParams(min_similarity=0.0, max_perplexity_ratio=1e9)
    with Store(tmp_path / "results.sqlite") as store:
        record_train(store)
        record_attack(store, "a1", EXAMPLES)
        score_missing(store, params, scorers=make_scorers(params))
        [row] = collect_rows(store, validity=params)
    _, html_path = write_leaderboard(tmp_path, "tiny", params)
    html = html_path.read_text(encoding="utf-8")
    assert f'data-sort="{row.robust_accuracy_valid!r}">25.0%</td>' in html
    assert f'data-sort="{row.valid_attack_share!r}">100.0%</td>' in html
    assert f'data-sort="{row.mean_similarity!r}">{row.mean_similarity:.3f}</td>' in html
    assert f'data-sort="{row.mean_perplexity_ratio!r}">{row.mean_perplexity_ratio:,.2f}</td>' in html


def test_sample_cards_show_scores(tmp_path, make_scorers):
    params = ValidityParams()
    with Store(tmp_path / "results.sqlite") as store:
        record_train(store)
        record_attack(store, "a1", EXAMPLES)
        score_missing(store, params, scorers=make_scorers(params))
        views = {view.index: view for view in collect_examples(store)}
    assert views[0].similarity is not None
    assert views[0].perplexity_ratio > 0
    assert views[1].similarity is None
    _, html_path = write_leaderboard(tmp_path, "tiny", params)
    html = html_path.read_text(encoding="utf-8")
    assert f"<dt>Similarity</dt><dd>{views[0].similarity:.3f}</dd>" in html
    assert f"<dt>Perplexity ratio</dt><dd>{views[0].perplexity_ratio:,.2f}</dd>" in html


def test_scoring_error_after_run_returned(tmp_path, monkeypatch):
    import harness.validity.scoring as scoring

    class Plan:
        def attack_units(self):
            return []

    def fail(*args, **kwargs):
        raise RuntimeError("encoder crashed")

    monkeypatch.setattr(scoring, "score_missing", fail)
    params = ValidityParams(fluency_model="none")
    with Store(tmp_path / "r.sqlite") as store:
        record_attack(store, "a1", EXAMPLES)
        report, message = scoring.score_after_run(store, params, Plan(), "cpu")
        stored = json.loads(store.meta("validity"))
    assert report is None
    assert message == "RuntimeError: encoder crashed."
    assert stored["fluency_model"] == "none"
