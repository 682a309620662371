"""A real tiny run on hostile texts: HTML and script payloads, control and bidi characters, emoji, a 100k document.

The texts go through data loading, training, the attack, the store and the report. The
page must show them as text: no element, attribute or script from the data.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from harness.errors import DataError
from harness.suite import FileData
from harness.tasks.classification import ClassificationTask
from tests.helpers import REPO

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

# Each payload would set window.__pwned or the page title if the page ran it.
PAYLOADS = [
    "<script>window.__pwned=1;document.title='pwned'</script>",
    "</textarea><img src=x onerror=\"window.__pwned=2;document.title='pwned'\">",
    "\"><svg onload=\"window.__pwned=3\"></svg><iframe srcdoc=\"<script>parent.__pwned=4</script>\"></iframe>",
    "</script><script>window.__pwned=5</script> {{ 7*7 }} ${7*7}",
]
ODD = "\x07\x1b[31m \u202eevil\u202c \u200f\u200b\u200d 🙂🏳️‍🌈"
LABELS = ("neg<b onmouseover=\"window.__pwned=6\">", "pos\"><script>window.__pwned=7</script>")
LONG_DOCUMENT = ("a wonderful film " * 7000)[:100_000]


def _hostile_rows(count: int) -> list[dict]:
    rows = []
    for index in range(count):
        good = index % 2 == 1
        words = "a wonderful, moving film" if good else "a dull, lifeless mess"
        rows.append({"text": f"{PAYLOADS[index % len(PAYLOADS)]} {words} {ODD} {index}", "label": LABELS[int(good)]})
    return rows


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    """Run a one-unit suite on hostile data and return its output folder."""
    folder = tmp_path_factory.mktemp("hostile")
    data = folder / "data"
    data.mkdir()
    train = _hostile_rows(40) + [{"text": LONG_DOCUMENT, "label": LABELS[1]}]
    test = _hostile_rows(4) + [{"text": LONG_DOCUMENT, "label": LABELS[1]}]
    for name, rows in (("train.jsonl", train), ("test.jsonl", test)):
        (data / name).write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    suite = folder / "suite.yaml"
    suite.write_text(f"""name: hostile
tasks:
  sentiment:
    type: classification
    data: {{source: hub, name: {data}, test_split: test}}
models:
  tiny-bert:
    source: random
    architecture: {{num_hidden_layers: 1, hidden_size: 32, num_attention_heads: 2, intermediate_size: 64}}
variants:
  baseline: {{}}
training: {{epochs: 1, batch_size: 16, learning_rate: 1.0e-3, max_length: 128}}
attack: {{examples: 5, query_budget: 30}}
attacks: [deepwordbug]
""", encoding="utf-8")
    out = folder / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "HF_DATASETS_OFFLINE": "1", "OMP_NUM_THREADS": "1", "HF_DATASETS_CACHE": str(folder / "datasets-cache")}
    result = subprocess.run([sys.executable, "-m", "harness", "run", str(suite), "--out", str(out), "--no-progress", "--threads", "1"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "units: 2 computed, 0 already stored, 0 failed" in result.stdout
    return out, test


@pytest.mark.slow
def test_hostile_texts_stored_verbatim(hostile_run):
    out, test = hostile_run
    connection = sqlite3.connect(out / "results.sqlite")
    try:
        originals = [row[0] for row in connection.execute("SELECT original_text FROM attack_examples ORDER BY idx")]
        labels = json.loads(connection.execute("SELECT label_names_json FROM units WHERE kind = 'train'").fetchone()[0])
    finally:
        connection.close()
    assert labels == sorted(LABELS)
    short = {row["text"] for row in test if row["text"] != LONG_DOCUMENT}
    assert short <= set(originals)
    # The long document is attacked as the part the model reads: its first words, far shorter.
    cut = [text for text in originals if text not in short]
    assert len(cut) == 1
    assert LONG_DOCUMENT.startswith(cut[0])
    assert 10 < len(cut[0]) < 2000


@pytest.mark.slow
def test_hostile_texts_escaped_in_html(hostile_run):
    out, _ = hostile_run
    html = (out / "leaderboard.html").read_text(encoding="utf-8")
    # The page's own scripts are the table sorter and the filters.
    assert html.count("<script") == 2
    assert "onerror=" not in html.replace("onerror=&#34;", "")
    assert "&lt;script&gt;window.__pwned=1" in html
    assert "<img" not in html
    assert "<iframe" not in html
    assert "\u202e" not in html
    assert "&lt;U+202E&gt;" in html


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} not found: install Debian's chromium package")
def test_hostile_report_inert_in_browser(hostile_run):
    from playwright.sync_api import sync_playwright

    out, _ = hostile_run
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            console_errors, page_errors, dialogs = [], [], []
            page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
            page.on("pageerror", lambda error: page_errors.append(str(error)))
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            page.goto((out / "leaderboard.html").as_uri())
            page.wait_for_timeout(500)
            page.click("#leaderboard-table th:has-text('Model')")
            page.hover("body")

            assert page.evaluate("window.__pwned") is None
            assert page.evaluate("parent.__pwned") is None
            assert page.title() != "pwned"
            assert console_errors == []
            assert page_errors == []
            assert dialogs == []
            assert page.eval_on_selector_all("img, iframe", "nodes => nodes.length") == 0
            assert page.eval_on_selector_all("script", "nodes => nodes.length") == 2
            handlers = page.eval_on_selector_all(
                "*", "nodes => nodes.flatMap(node => [...node.attributes].map(a => a.name)).filter(name => name.startsWith('on'))")
            assert handlers == []
            body = page.inner_text("body")
            assert "<script>window.__pwned=1;document.title='pwned'</script>" in body
            assert "</textarea><img src=x onerror=" in body
            assert LABELS[1] in body
            assert "<U+202E>evil<U+202C>" in body
            assert "🙂" in body
        finally:
            browser.close()


def test_invalid_utf8_jsonl_rejected(tmp_path):
    path = tmp_path / "junk.jsonl"
    path.write_bytes(b'{"review": "fine", "sentiment": "pos"}\n{"review": "\xff\xfe junk", "sentiment": "neg"}\n')
    spec = FileData(source="file", path=path, text_column="review", label_column="sentiment")
    with pytest.raises(DataError, match=r"not valid UTF-8 \(line 2, byte 51\)"):
        ClassificationTask().load_splits(spec)
