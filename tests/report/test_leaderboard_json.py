from __future__ import annotations

import dataclasses
import json
import math
import random

import pytest

from harness.report import LeaderboardRow, render_leaderboard

NUMERIC_FIELDS = [
    field.name for field in dataclasses.fields(LeaderboardRow)
    if field.type in ("float | None", "int | None", "int")
]
MANIFEST = {
    "python": "3.11.2", "platform": "Linux-x86_64", "torch_threads": 1, "gpu": None,
    "packages": {"torch": "2.13.0", "textattack": "0.3.11"}, "suite_sha256": "ab" * 32,
}


@pytest.fixture
def rows(make_row, make_train_only):
    attacked = make_row()
    return [
        attacked,
        make_train_only(attacked),
        make_row(unit_key="u2", seed=1, robust_accuracy=0.5, attacked=0, skipped=10),
        make_row(unit_key="u3", attack="deepwordbug", dataset_generated=True),
        make_row(unit_key="u4", model="bert-tiny", status="failed", error="CUDA out of memory",
                 clean_accuracy=None, clean_macro_f1=None, robust_accuracy=None,
                 attack_success_rate=None, attacked=None),
    ]


def render_json(tmp_path, rows, fixed_time, manifest=MANIFEST):
    json_path, _ = render_leaderboard(
        tmp_path, suite_name="embedded", rows=rows, examples=[], manifest=manifest,
        generated_at=fixed_time,
    )
    return json_path.read_text(encoding="utf-8")


def test_json_top_level(tmp_path, rows, fixed_time):
    document = json.loads(render_json(tmp_path, rows, fixed_time))

    assert document["schema_version"] == 1
    assert document["suite"] == "embedded"
    assert document["generated_at"] == "2025-01-02T03:04:05+00:00"
    assert document["manifest"] == MANIFEST
    assert len(document["units"]) == len(rows)


def test_json_units_equal_rows(tmp_path, rows, fixed_time):
    document = json.loads(render_json(tmp_path, rows, fixed_time))

    by_key = {unit["unit_key"]: unit for unit in document["units"]}
    for row in rows:
        assert by_key[row.unit_key] == dataclasses.asdict(row)
        assert LeaderboardRow(**by_key[row.unit_key]) == row


def test_json_numbers_are_numbers(tmp_path, rows, fixed_time):
    document = json.loads(render_json(tmp_path, rows, fixed_time))

    assert "seed" in NUMERIC_FIELDS
    assert "clean_accuracy" in NUMERIC_FIELDS
    for unit in document["units"]:
        for name in NUMERIC_FIELDS:
            value = unit[name]
            assert value is None or (isinstance(value, (int, float)) and not isinstance(value, bool)), name
        assert isinstance(unit["dataset_generated"], bool)
    first = next(unit for unit in document["units"] if unit["unit_key"] == rows[0].unit_key)
    assert first["clean_accuracy"] == 0.8
    assert first["attacked"] == 8


def test_json_none_is_null(tmp_path, rows, fixed_time):
    text = render_json(tmp_path, rows, fixed_time)

    failed = next(unit for unit in json.loads(text)["units"] if unit["unit_key"] == "u4")
    assert failed["clean_accuracy"] is None
    assert '"clean_accuracy": null' in text
    assert '"attack": null' in text
    assert '"gpu": null' in text


def test_json_non_finite_is_null(tmp_path, make_row, fixed_time):
    rows = [make_row(robust_accuracy=math.nan, mean_queries=math.inf)]

    text = render_json(tmp_path, rows, fixed_time)

    unit = json.loads(text)["units"][0]
    assert unit["robust_accuracy"] is None
    assert unit["mean_queries"] is None
    assert "NaN" not in text
    assert "Infinity" not in text


def test_json_order_is_deterministic(tmp_path, rows, fixed_time):
    shuffled = list(rows)
    random.Random(3).shuffle(shuffled)

    first = render_json(tmp_path / "a", rows, fixed_time)
    second = render_json(tmp_path / "b", shuffled, fixed_time)

    assert first == second
    keys = [
        (u["task"], u["dataset"], u["model"], u["variant"], u["attack"] or "", u["seed"])
        for u in json.loads(first)["units"]
    ]
    assert keys == [
        ("sentiment", "rotten_tomatoes", "bert-tiny", "standard", "textfooler", 0),
        ("sentiment", "rotten_tomatoes", "minilm", "standard", "", 0),
        ("sentiment", "rotten_tomatoes", "minilm", "standard", "deepwordbug", 0),
        ("sentiment", "rotten_tomatoes", "minilm", "standard", "textfooler", 0),
        ("sentiment", "rotten_tomatoes", "minilm", "standard", "textfooler", 1),
    ]


def test_render_is_reproducible(tmp_path, rows, make_example, fixed_time):
    outputs = []
    for name in ("a", "b"):
        paths = render_leaderboard(
            tmp_path / name, suite_name="embedded", rows=rows, examples=[make_example()],
            manifest=MANIFEST, generated_at=fixed_time,
        )
        outputs.append([path.read_bytes() for path in paths])

    assert outputs[0] == outputs[1]


def test_json_manifest_values_converted(tmp_path, make_row, fixed_time):
    manifest = {"path": tmp_path / "suite.yaml", "created_at": fixed_time, "tags": ("a", "b"),
                "flags": {"b", "a"}}

    document = json.loads(render_json(tmp_path, [make_row()], fixed_time, manifest))

    assert document["manifest"] == {
        "path": str(tmp_path / "suite.yaml"), "created_at": "2025-01-02T03:04:05+00:00",
        "tags": ["a", "b"], "flags": ["a", "b"],
    }


def test_json_manifest_rejects_unknown_type(tmp_path, make_row, fixed_time):
    with pytest.raises(ValueError, match=r"manifest\.cpu: a value of type object cannot be written as JSON"):
        render_json(tmp_path, [make_row()], fixed_time, {"cpu": object()})
    assert list(tmp_path.iterdir()) == []
