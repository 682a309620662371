"""Open the rendered page in headless Chromium: the sorter works and hostile text stays inert."""

from __future__ import annotations

import os

import pytest

from harness.report import render_leaderboard

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason=f"{CHROMIUM} not found: install Debian's chromium package"),
]

HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(2)>',
    "<svg onload=alert(3)>",
    "</textarea><iframe src=javascript:alert(4)>",
    "&amp; \u202e\u200b🙂 \x00",
]


@pytest.fixture
def browser_page(tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        events = {"console_errors": [], "page_errors": [], "dialogs": [], "requests": []}
        page.on("console", lambda message: message.type == "error"
                and events["console_errors"].append(message.text))
        page.on("pageerror", lambda error: events["page_errors"].append(str(error)))

        def on_dialog(dialog):
            events["dialogs"].append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("request", lambda request: events["requests"].append(request.url))
        yield page, events
        browser.close()


def render(tmp_path, rows, examples=()):
    _, html_path = render_leaderboard(
        tmp_path, suite_name="browser", rows=rows, examples=list(examples),
        manifest={"python": "3.11", HOSTILE[0]: HOSTILE[1]},
    )
    return html_path


def column_values(page, table_id, column):
    return page.eval_on_selector_all(
        f"#{table_id} tbody tr",
        f"rows => rows.map(row => row.cells[{column}].getAttribute('data-sort') ?? row.cells[{column}].textContent.trim())",
    )


def test_header_click_sorts_numbers(tmp_path, browser_page, make_row):
    page, events = browser_page
    rows = [
        make_row(unit_key="a", model="m-a", robust_accuracy=0.9),
        make_row(unit_key="b", model="m-b", robust_accuracy=0.05),
        make_row(unit_key="c", model="m-c", robust_accuracy=0.25),
        make_row(unit_key="d", model="m-d", robust_accuracy=1.0),
        make_row(unit_key="e", model="m-e", robust_accuracy=None),
        make_row(unit_key="f", model="m-f", robust_accuracy=0.1),
    ]
    page.goto(render(tmp_path, rows).as_uri())
    robust_column = 8

    assert column_values(page, "leaderboard-table", robust_column) == ["0.9", "0.05", "0.25", "1.0", "", "0.1"]

    page.click("#leaderboard-table th:text-is('Robust accuracy')")
    assert column_values(page, "leaderboard-table", robust_column) == ["0.05", "0.1", "0.25", "0.9", "1.0", ""]
    assert page.get_attribute("#leaderboard-table th:text-is('Robust accuracy')", "aria-sort") == "ascending"

    page.click("#leaderboard-table th:text-is('Robust accuracy')")
    assert column_values(page, "leaderboard-table", robust_column) == ["1.0", "0.9", "0.25", "0.1", "0.05", ""]
    assert page.get_attribute("#leaderboard-table th:text-is('Robust accuracy')", "aria-sort") == "descending"

    page.click("#leaderboard-table th:has-text('Model')")
    page.click("#leaderboard-table th:has-text('Model')")
    assert column_values(page, "leaderboard-table", 2) == ["m-f", "m-e", "m-d", "m-c", "m-b", "m-a"]

    page.screenshot(path=str(tmp_path / "leaderboard.png"), full_page=True)
    assert (tmp_path / "leaderboard.png").stat().st_size > 10_000
    assert events["console_errors"] == []
    assert events["page_errors"] == []
    assert [url for url in events["requests"] if not url.startswith("file://")] == []


def test_numbers_sort_numerically(tmp_path, browser_page, make_row):
    page, events = browser_page
    rows = [make_row(unit_key=str(n), model=f"m{n}", mean_model_evaluations=value)
            for n, value in enumerate([9.5, 100.0, 12.0, 1000.25])]
    page.goto(render(tmp_path, rows).as_uri())

    page.click("#leaderboard-table th:has-text('Model evaluations per example')")

    # Column 15: after the four validity columns that follow robust accuracy.
    assert column_values(page, "leaderboard-table", 15) == ["9.5", "12.0", "100.0", "1000.25"]
    assert events["console_errors"] == []


def test_hostile_text_stays_inert(tmp_path, browser_page, make_row, make_example):
    page, events = browser_page
    rows = [make_row(unit_key=f"h{i}", model=text, variant=text, attack=text, task=text,
                     error=text, status="failed" if i % 2 else "done")
            for i, text in enumerate(HOSTILE)]
    examples = [make_example(unit_key=f"h{i}", original_text=f"{text} good", perturbed_text=f"{text} great",
                             label=text, original_prediction=text, perturbed_prediction=text)
                for i, text in enumerate(HOSTILE)]
    page.goto(render(tmp_path, rows, examples).as_uri())
    page.wait_for_timeout(500)

    page.click("#leaderboard-table th:has-text('Model')")
    page.wait_for_timeout(200)

    assert events["dialogs"] == []
    assert events["page_errors"] == []
    assert events["console_errors"] == []
    assert page.eval_on_selector_all("img, iframe", "nodes => nodes.length") == 0
    assert page.eval_on_selector_all("script", "nodes => nodes.length") == 2
    body_text = page.inner_text("body")
    for text in HOSTILE[:4]:
        assert text in body_text
    page.screenshot(path=str(tmp_path / "hostile.png"), full_page=True)
    assert [url for url in events["requests"] if not url.startswith("file://")] == []
