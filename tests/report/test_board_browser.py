"""A real two-seed run in headless Chromium: sorting, filtering and links from rows to their examples."""

from __future__ import annotations

import json
import os

import pytest

from harness.cli.main import main
from harness.results import RESULTS_FILE
from harness.store import Store
from tests.helpers import tiny_suite_text
from tests.report.test_leaderboard_browser import CHROMIUM, browser_page  # noqa: F401 (fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} not found: install Debian's chromium package"),
]


@pytest.fixture
def two_seed_run(tmp_path, sentiment_csv):
    """Run a random 1-layer BERT, baseline and kd, seeds 0 and 1, one attack; return the output folder."""
    data = (f"      source: file\n      path: {sentiment_csv}\n      text_column: review\n"
            "      label_column: sentiment")
    text = tiny_suite_text(data, variants="baseline: {}\n  kd: {teacher: self}", examples=6)
    suite = tmp_path / "suite.yaml"
    suite.write_text(text.replace("name: tiny\n", "name: tiny\nseeds: [0, 1]\n"), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(suite), "--out", str(out), "--no-progress", "--threads", "1"]) == 0
    return out


def visible_column(page, table_id, column):
    return page.eval_on_selector_all(
        f"#{table_id} tbody tr:not([hidden])",
        f"rows => rows.map(row => row.cells[{column}].getAttribute('data-sort') ?? row.cells[{column}].textContent.trim())",
    )


def test_two_seed_run_in_browser(two_seed_run, browser_page, tmp_path):
    page, events = browser_page
    document = json.loads((two_seed_run / "leaderboard.json").read_text(encoding="utf-8"))
    with Store(two_seed_run / RESULTS_FILE, readonly=True) as store:
        stored = {unit["unit_key"]: len(store.examples(unit["unit_key"])) for unit in document["units"]}
    page.goto((two_seed_run / "leaderboard.html").as_uri())

    # The summary has one row per variant with both seeds, and the per-seed table starts collapsed.
    assert visible_column(page, "aggregate-table", 3) == ["baseline", "kd"]
    assert visible_column(page, "aggregate-table", 5) == ["2", "2"]
    assert page.is_visible("#leaderboard-table") is False
    assert len(document["comparisons"]) == 1
    assert document["comparisons"][0]["seeds"] == [0, 1]

    # Sorting: variant descending, then robust accuracy ascending by its exact value.
    page.click("#aggregate-table th:has-text('Variant')")
    page.click("#aggregate-table th:has-text('Variant')")
    assert visible_column(page, "aggregate-table", 3) == ["kd", "baseline"]
    page.click("#aggregate-table th:has-text('Robust accuracy [95% CI over examples]')")
    robust = [float(value) for value in visible_column(page, "aggregate-table", 6)]
    assert robust == sorted(robust)

    # Filtering by variant hides the other variant's rows in every table and its sample sections.
    page.select_option("select[data-filter='variant']", "kd")
    assert visible_column(page, "aggregate-table", 3) == ["kd"]
    assert page.text_content("#filter-count") == "1 of 2 summary rows shown"
    page.click("#per-seed summary")
    assert visible_column(page, "leaderboard-table", 3) == ["kd", "kd"]
    assert page.eval_on_selector_all(
        "section.unit-samples:not([hidden])", "nodes => nodes.map(node => node.dataset.variant)") == ["kd", "kd"]
    page.click("#filter-reset")
    assert len(visible_column(page, "leaderboard-table", 3)) == 4

    # Each summary row links to its seeds' sections, which open the unit's full example table.
    links = page.eval_on_selector_all("#aggregate-table tbody tr a", "links => links.map(link => link.getAttribute('href'))")
    assert len(links) == 4
    page.click(f"#aggregate-table a[href='{links[-1]}']")
    section = links[-1][1:]
    assert page.evaluate("window.location.hash") == links[-1]
    assert page.is_visible(f"#{section} details.all-examples table")
    unit_key = page.text_content(f"#{section} p.meta code")
    listed = page.eval_on_selector_all(f"#{section} details.all-examples tbody tr", "rows => rows.length")
    assert listed == stored[unit_key]
    assert listed > 0

    screenshot = tmp_path / "two-seed-leaderboard.png"
    page.goto((two_seed_run / "leaderboard.html").as_uri())
    page.screenshot(path=str(screenshot), full_page=True)
    print(f"screenshot: {screenshot}")
    assert screenshot.stat().st_size > 10_000
    assert events["console_errors"] == []
    assert events["page_errors"] == []
    assert [url for url in events["requests"] if not url.startswith("file://")] == []
