"""The summary, comparison and navigation parts of the page and their JSON sections."""

from __future__ import annotations

import dataclasses
import json

import pytest

from harness.report import render_leaderboard
from harness.report.render import leaderboard_json
from tests.report.test_uncertainty import outcomes_for, unit_examples

HOSTILE_VARIANT = '<script>alert("v")</script>'


def two_seed_board(make_row):
    """Two seeds of a baseline and an adv variant under one attack; adv is clearly more robust."""
    rows, examples = [], []
    for seed in (0, 1):
        for variant, kind, robust, seconds in (("baseline", "baseline", 4 + seed, 60.0), ("adv", "adv", 26 - seed, 180.0)):
            key = f"{variant}-{seed}"
            rows.append(make_row(unit_key=key, train_key=f"t-{key}", variant=variant, variant_kind=kind, seed=seed,
                                 robust_accuracy=robust / 40, attacked=40, skipped=2, train_seconds=seconds))
            examples += unit_examples(key, outcomes_for(robust, 2, 40))
    return rows, examples


def render(tmp_path, fixed_time, rows, examples):
    json_path, html_path = render_leaderboard(tmp_path, suite_name="analysis", rows=rows, examples=examples,
                                              manifest={}, generated_at=fixed_time)
    return json.loads(json_path.read_text(encoding="utf-8")), html_path.read_text(encoding="utf-8")


@pytest.fixture
def board(tmp_path, fixed_time, make_row):
    rows, examples = two_seed_board(make_row)
    return render(tmp_path, fixed_time, rows, examples)


def table_rows(root, table_id):
    table = root.find("table", id=table_id)
    return [[cell for cell in tr.children if not isinstance(cell, str)]
            for tr in table.find("tbody").find_all("tr")]


def test_json_sections(board):
    document, _ = board

    assert list(document)[-4:] == ["methods", "unit_intervals", "aggregates", "comparisons"]
    assert set(document["methods"]) == {"unit_intervals", "aggregates", "comparisons", "gain_per_extra_training_minute"}
    assert [entry["unit_key"] for entry in document["unit_intervals"]] == ["adv-0", "adv-1", "baseline-0", "baseline-1"]
    assert document["unit_intervals"][0]["robust_accuracy"]["estimate"] == pytest.approx(26 / 40)
    assert document["unit_intervals"][0]["attacked_clean_accuracy"]["estimate"] == pytest.approx(38 / 40)
    assert [unit["variant_kind"] for unit in document["units"]] == ["adv", "adv", "baseline", "baseline"]


def test_json_aggregates(board):
    document, _ = board
    adv = next(entry for entry in document["aggregates"] if entry["variant"] == "adv")

    assert adv["seeds"] == [0, 1]
    assert adv["seed_count"] == 2
    assert adv["robust_accuracy"]["mean"] == pytest.approx((26 + 25) / 80)
    assert adv["robust_accuracy"]["over_seeds"]["samples"] == 2
    assert adv["robust_accuracy"]["over_examples"]["samples"] == 40
    assert adv["train_seconds"] == pytest.approx(180.0)


def test_json_comparison(board):
    document, _ = board
    [comparison] = document["comparisons"]

    assert (comparison["variant"], comparison["reference_variant"]) == ("adv", "baseline")
    assert comparison["seeds"] == [0, 1]
    assert comparison["difference"] == pytest.approx(((26 - 4) + (25 - 5)) / 80)
    assert comparison["excludes_zero"] is True
    assert comparison["over_seeds"]["low"] > 0
    assert comparison["extra_train_seconds"] == pytest.approx(120.0)
    assert comparison["gain_per_extra_training_minute"] == pytest.approx(comparison["difference"] / 2.0)
    assert [seed["difference"]["estimate"] for seed in comparison["per_seed"]] == pytest.approx([22 / 40, 20 / 40])


def test_json_section_name_collision():
    with pytest.raises(ValueError, match="'units' repeats a top-level key"):
        leaderboard_json("s", "t", {}, [], sections={"units": []})


def test_summary_first_then_comparison(board, parse_page):
    _, page = board
    main = parse_page(page).find("main")

    sections = [node.attrs.get("id") for node in main.children if not isinstance(node, str) and node.tag == "section"]
    assert sections[:3] == ["summary", "comparison", "leaderboard"]


def test_summary_table_cells(board, parse_page):
    _, page = board
    rows = table_rows(parse_page(page), "aggregate-table")

    assert [row[3].text() for row in rows] == ["adv", "baseline"]
    adv = rows[0]
    assert adv[5].text() == "2"
    assert adv[5].attrs["title"] == "seeds 0, 1"
    assert adv[6].attrs["data-sort"] == repr(51 / 80)
    assert adv[6].text().startswith("63.7% [")
    assert adv[7].text().startswith("[")
    assert [link.attrs["href"] for link in adv[-1].find_all("a")] == ["#unit-adv-0", "#unit-adv-1"]


def test_comparison_marked(board, parse_page):
    _, page = board
    [row] = table_rows(parse_page(page), "comparison-table")

    assert row[9].text() == "+52.5 pp ▲ excludes 0"
    assert row[9].attrs["class"] == "num better"
    assert row[13].text() == "+26.2 pp/min"


def test_gain_without_extra_time_is_na(tmp_path, fixed_time, make_row, parse_page):
    rows, examples = two_seed_board(make_row)
    rows = [row if row.variant == "baseline" else dataclasses.replace(row, train_seconds=30.0) for row in rows]
    _, page = render(tmp_path, fixed_time, rows, examples)
    [row] = table_rows(parse_page(page), "comparison-table")

    assert row[13].text() == "n/a"
    assert row[13].find("abbr").attrs["title"] == (
        "the variant trained no longer than the baseline (-30.0 s), so a gain per extra minute is undefined")


def test_per_seed_details_closed_with_seeds(board, parse_page):
    _, page = board
    details = parse_page(page).find("details", id="per-seed")

    assert "open" not in details.attrs
    assert len(table_rows(details, "leaderboard-table")) == 4


def test_per_seed_details_open_with_one_seed(tmp_path, fixed_time, make_row, parse_page):
    rows, examples = two_seed_board(make_row)
    _, page = render(tmp_path, fixed_time, [row for row in rows if row.seed == 0], examples)

    assert "open" in parse_page(page).find("details", id="per-seed").attrs


def test_unit_section_lists_all_examples(board, parse_page):
    _, page = board
    section = parse_page(page).find("section", id="unit-adv-1")

    table = section.find("table", **{"class": "sortable examples-table"})
    assert len(table.find("tbody").find_all("tr")) == 40
    assert "Robust accuracy 62.5% [" in section.text()
    assert section.attrs["data-variant"] == "adv"


def test_filter_choices_escaped(tmp_path, fixed_time, make_row, parse_page):
    rows = [make_row(unit_key="a", variant=HOSTILE_VARIANT, variant_kind="adv"),
            make_row(unit_key="b", variant="baseline", variant_kind="baseline", attack="pwws")]
    _, page = render(tmp_path, fixed_time, rows, [])
    root = parse_page(page)

    choices = {select.attrs["data-filter"]: [option.attrs["value"] for option in select.find_all("option")]
               for select in root.find_all("select")}
    assert choices == {"task": ["", "sentiment"], "model": ["", "minilm"],
                       "variant": ["", HOSTILE_VARIANT, "baseline"], "attack": ["", "pwws", "textfooler"]}
    assert "<script>alert" not in page
    rows_with_variant = [node for node in root.iter() if node.attrs.get("data-variant") == HOSTILE_VARIANT]
    assert len(rows_with_variant) >= 3


def test_csp_lists_both_script_hashes(board, parse_page):
    _, page = board
    root = parse_page(page)
    csp = root.find("meta", **{"http-equiv": "Content-Security-Policy"}).attrs["content"]

    assert csp.count("'sha256-") == 2
