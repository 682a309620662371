"""The per-task metric tables: headline first, clean once per trained model, means over seeds, escaped names."""

from __future__ import annotations

import json

from harness.report import render_leaderboard
from harness.report.task_tables import build_task_tables
from tests.report.conftest import build_row


def _ner_rows() -> list:
    rows = []
    for seed, (clean, robust) in enumerate(((0.5, 0.25), (0.75, 0.5))):
        common = dict(task="tweets", task_type="ner", headline="entity_f1", dataset="wnut16", model="minilm",
                      variant="baseline", seed=seed, train_key=f"t{seed}", clean_accuracy=None, clean_macro_f1=None)
        rows.append(build_row(unit_key=f"a{seed}", attack="deepwordbug",
                              task_metrics={"clean.entity_f1": clean, "clean.f1.PER": 1.0, "clean.entity_precision": 0.5,
                                            "robust.entity_f1": robust, "robust.f1.PER": 0.0,
                                            "attacked_clean.entity_f1": clean + 0.125}, **common))
        rows.append(build_row(unit_key=f"p{seed}", attack="pwws",
                              task_metrics={"clean.entity_f1": clean, "robust.entity_f1": robust / 2}, **common))
    return rows


def test_headline_first_then_overall_then_types():
    (table,) = build_task_tables(_ner_rows())
    assert table.metrics == ["entity_f1", "entity_precision", "f1.PER"]
    assert table.attacks == ["deepwordbug", "pwws"]
    assert table.headline == "entity_f1"


def test_means_over_seeds():
    (table,) = build_task_tables(_ner_rows())
    (row,) = table.rows
    assert row.clean["entity_f1"].mean == 0.625
    assert row.clean["entity_f1"].count == 2
    assert row.robust[("deepwordbug", "entity_f1")].mean == 0.375
    assert row.robust[("pwws", "entity_f1")].mean == 0.1875
    assert ("pwws", "f1.PER") not in row.robust
    assert row.attacked_clean.mean == 0.75
    assert row.attacked_clean.count == 2


def test_rows_without_task_metrics_leave_no_table():
    assert build_task_tables([build_row()]) == []


def test_failed_units_do_not_count():
    rows = _ner_rows()
    rows[0] = build_row(**{**rows[0].__dict__, "status": "failed", "error": "boom"})
    (table,) = build_task_tables(rows)
    assert table.rows[0].robust[("deepwordbug", "entity_f1")].mean == 0.5


def test_page_shows_escaped_task_table(tmp_path, fixed_time):
    rows = [build_row(**{**row.__dict__, "model": "<img src=x onerror=alert(1)>"}) for row in _ner_rows()]
    json_path, html_path = render_leaderboard(tmp_path, suite_name="t", rows=rows, examples=[], manifest={}, generated_at=fixed_time)
    page = html_path.read_text()
    section = page[page.index('<section id="task-metrics">'):]
    section = section[: section.index("</section>")]
    assert "entity_f1, deepwordbug" in section
    assert "62.5%" in section
    assert "entity_f1, clean, attacked sample" in section
    assert "75.0%" in section
    assert "<img src=x" not in section
    assert "&lt;img src=x onerror=alert(1)&gt;" in section
    unit = json.loads(json_path.read_text())["units"][0]
    assert unit["task_metrics"]["robust.entity_f1"] == 0.25
    assert unit["headline"] == "entity_f1"
