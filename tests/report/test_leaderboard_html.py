from __future__ import annotations

import importlib.resources

import pytest

from harness.report import render_leaderboard

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
AMP = "&amp;"
RTL = "\u202eevil\u202c \u200f"
ZERO_WIDTH = "zero\u200bwidth\u200d\ufeff"
EMOJI = "🙂👍🏽"
CONTROL = "nul\x00bell\x07esc\x1b"
LONG_WORDS = [f"w{i % 997}" for i in range(20_000)]
LONG_TEXT = " ".join(LONG_WORDS)[:100_000]


def sorter_source() -> str:
    return importlib.resources.files("harness.report").joinpath("templates", "sorter.js").read_text()


def filter_source() -> str:
    return importlib.resources.files("harness.report").joinpath("templates", "filter.js").read_text()


def render_page(tmp_path, fixed_time, rows, examples=(), manifest=None, **options):
    _, html_path = render_leaderboard(
        tmp_path, suite_name=options.pop("suite_name", "embedded"), rows=rows,
        examples=list(examples), manifest=manifest or {"python": "3.11"},
        generated_at=fixed_time, **options,
    )
    return html_path.read_text(encoding="utf-8")


@pytest.fixture
def hostile_page(tmp_path, fixed_time, make_row, make_example):
    long_perturbed = LONG_TEXT.replace("w5 ", "CHANGED ", 1)
    rows = [
        make_row(unit_key="h1", task=SCRIPT, dataset=IMG, model=AMP, variant=RTL,
                 attack=ZERO_WIDTH + EMOJI, dataset_generated=True),
        make_row(unit_key=f"bad key {SCRIPT}", attack=IMG, status="failed",
                 error=f"Traceback {SCRIPT} {IMG} {CONTROL}"),
    ]
    examples = [
        make_example(unit_key="h1", index=0, original_text=f"{SCRIPT} {IMG} {AMP}",
                     perturbed_text=f"{SCRIPT} {IMG} &lt; {EMOJI}", label=SCRIPT,
                     original_prediction=IMG, perturbed_prediction=AMP),
        make_example(unit_key="h1", index=1, original_text=f"{RTL} {ZERO_WIDTH} {CONTROL}",
                     perturbed_text=f"{RTL} {ZERO_WIDTH} changed"),
        make_example(unit_key="h1", index=2, original_text=LONG_TEXT, perturbed_text=long_perturbed),
    ]
    manifest = {SCRIPT: IMG, "packages": {AMP: CONTROL}}
    return render_page(tmp_path, fixed_time, rows, examples, manifest, suite_name=SCRIPT + IMG)


def test_hostile_page_has_only_own_scripts(hostile_page, parse_page):
    root = parse_page(hostile_page)

    scripts = root.find_all("script")
    assert [script.text() for script in scripts] == [sorter_source(), filter_source()]
    assert [script.attrs for script in scripts] == [{}, {}]


def test_hostile_page_has_no_event_attributes(hostile_page, parse_page):
    root = parse_page(hostile_page)

    for node in root.iter():
        assert not [name for name in node.attrs if name.lower().startswith("on")], node.tag
    assert root.find_all("img") == []
    assert "<script>alert" not in hostile_page
    assert "<img src=x" not in hostile_page


def test_hostile_texts_shown_escaped(hostile_page, parse_page):
    text = parse_page(hostile_page).text()

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hostile_page
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in hostile_page
    assert "&amp;amp;" in hostile_page
    for value in (SCRIPT, IMG, AMP, RTL, ZERO_WIDTH, EMOJI, "&lt;"):
        assert value in text, value
    assert "Leaderboard: " + SCRIPT + IMG in text


def test_control_characters_replaced(hostile_page, parse_page):
    text = parse_page(hostile_page).text()

    assert "\x00" not in hostile_page
    assert "\x07" not in hostile_page
    assert "nul\ufffdbell\ufffdesc\ufffd" in text


def test_long_text_shown_whole(hostile_page, parse_page):
    root = parse_page(hostile_page)

    originals = [node.text() for node in root.iter() if node.attrs.get("class") == "text original"]
    assert LONG_TEXT in originals
    perturbed = [node for node in root.iter() if node.attrs.get("class") == "text perturbed"]
    long_perturbed = next(node for node in perturbed if len(node.text()) > 50_000)
    assert [mark.text() for mark in long_perturbed.find_all("mark")] == ["CHANGED"]


def test_unsafe_unit_key_gets_hashed_anchor(hostile_page, parse_page):
    root = parse_page(hostile_page)

    links = [a.attrs["href"] for a in root.find_all("a")]
    section_ids = {node.attrs["id"] for node in root.find_all("section") if "id" in node.attrs}
    assert "#unit-h1" in links
    for link in links:
        assert link[1:] in section_ids
        assert link[1:].replace("-", "").isalnum()


@pytest.fixture
def page(tmp_path, fixed_time, make_row, make_train_only, make_example):
    base = make_row(unit_key="m0", train_key="tm0", clean_accuracy=0.8, robust_accuracy=0.3)
    rows = [
        base,
        make_train_only(base),
        make_row(unit_key="m1", train_key="tm1", seed=1, clean_accuracy=0.9, robust_accuracy=0.5),
        make_row(unit_key="m0d", train_key="tm0", attack="deepwordbug", robust_accuracy=0.1),
        make_row(unit_key="g0", train_key="tg0", dataset="wordnet_relations",
                 dataset_generated=True, task="relation", robust_accuracy=0.2),
        make_row(unit_key="f0", train_key="tf0", model="bert-tiny", status="failed",
                 error="Training diverged: loss is NaN", clean_accuracy=None,
                 clean_macro_f1=None, robust_accuracy=None, attack_success_rate=None,
                 mean_perturbed_word_fraction=None, mean_model_evaluations=None),
    ]
    examples = [
        make_example(unit_key="m0", index=0, outcome="failed", original_text="fine film",
                     perturbed_text="fine film"),
        make_example(unit_key="m0", index=1, outcome="skipped"),
        make_example(unit_key="m0", index=2, outcome="succeeded",
                     original_text="a truly awful , boring mess",
                     perturbed_text="a truly dreadful , tedious mess"),
        make_example(unit_key="m0", index=3, outcome="succeeded"),
        make_example(unit_key="unknown-unit", index=0),
    ]
    manifest = {"python": "3.11.2", "git_commit": "abc123", "gpu": None,
                "packages": {"torch": "2.13.0", "jinja2": "3.1.6"}, "cpu": ["x86_64", 2]}
    return render_page(tmp_path, fixed_time, rows, examples, manifest, samples_per_unit=3)


def table_rows(root, table_id):
    table = root.find("table", id=table_id)
    return [[cell for cell in tr.children if not isinstance(cell, str)]
            for tr in table.find("tbody").find_all("tr")]


def test_summary_header(page, parse_page):
    header = parse_page(page).find("header")
    text = header.text()

    assert "Leaderboard: embedded" in text
    assert "Generated 2025-01-02T03:04:05+00:00 · 6 unit(s), 1 failed" in text
    assert "Training diverged: loss is NaN" in header.find("pre").text()
    assert "wordnet_relations (relation)" in text


def test_leaderboard_table_cells(page, parse_page):
    rows = table_rows(parse_page(page), "leaderboard-table")

    assert len(rows) == 6
    first = rows[0]
    assert [cell.text() for cell in first[:6]] == [
        "relation", "wordnet_relations generated data", "minilm", "standard", "textfooler", "0"]
    assert first[1].attrs["data-sort"] == "wordnet_relations"
    assert first[6].text() == "80.0%"
    assert first[6].attrs["data-sort"] == "0.8"
    # Columns 9 to 12 are the validity columns, empty for rows without validity scores.
    assert [cell.text() for cell in first[9:13]] == ["–", "–", "–", "–"]
    assert first[13].text() == "62.5%"
    assert first[13].attrs["data-sort"] == "0.625"
    assert first[14].text() == "12.0%"
    assert first[15].text() == "140.5"
    assert first[15].attrs["data-sort"] == "140.5"
    assert [first[16].text(), first[17].text()] == ["8", "2"]
    failed = next(row for row in rows if row[2].text() == "bert-tiny")
    assert failed[6].text() == "–"
    assert failed[6].attrs["data-sort"] == ""
    assert failed[18].text() == "failed"
    train_only = next(row for row in rows if row[4].text() == "–")
    assert train_only[4].find_all("a") == []


def test_rows_link_to_sample_sections(page, parse_page):
    root = parse_page(page)

    links = [a.attrs["href"] for a in root.find("table", id="leaderboard-table").find_all("a")]
    assert links == ["#unit-g0", "#unit-f0", "#unit-m0d", "#unit-m0", "#unit-m1"]
    for link in links:
        assert root.find("section", id=link[1:]).attrs["class"] == "unit-samples"


def test_pivot_averages_seeds(page, parse_page):
    root = parse_page(page)
    headers = [th.text() for th in root.find("table", id="pivot-table").find_all("th")]
    rows = table_rows(root, "pivot-table")

    assert headers == ["Task", "Dataset", "Model", "Variant", "Clean accuracy", "deepwordbug",
                       "textfooler"]
    minilm = next(row for row in rows if row[0].text() == "sentiment" and row[2].text() == "minilm")
    assert minilm[4].text() == "85.0% ± 7.1%"
    assert float(minilm[4].attrs["data-sort"]) == pytest.approx(0.85)
    assert minilm[5].text() == "10.0%"
    assert minilm[6].text() == "40.0% ± 14.1%"
    failed = next(row for row in rows if row[2].text() == "bert-tiny")
    assert [cell.text() for cell in failed[4:]] == ["–", "–", "–"]


def test_throughput_table(page, parse_page):
    rows = table_rows(parse_page(page), "throughput-table")

    first = rows[0]
    assert [cell.text() for cell in first[6:12]] == ["55.5", "310.0", "0.75", "12.5", "13.2", "150.2"]
    assert [cell.text() for cell in first[12:]] == ["–", "–", "–", "–"]  # peak memory not measured
    assert first[10].attrs["data-sort"] == "13.25"


def test_samples_successful_first(page, parse_page):
    section = parse_page(page).find("section", id="unit-m0")
    articles = section.find_all("article")

    indexes = [article.find_all("dd")[0].text() for article in articles]
    assert indexes == ["2", "3", "0"]
    assert "showing 3 of 4 stored example(s)" in section.text()
    first = articles[0]
    assert [node.text() for node in first.find_all("del")] == ["awful", "boring"]
    assert [node.text() for node in first.find_all("mark")] == ["dreadful", "tedious"]
    unchanged = articles[2]
    assert unchanged.find_all("del") == []
    assert unchanged.find_all("mark") == []


def test_plot_inlined(page, parse_page):
    plot = parse_page(page).find("section", id="clean-vs-robust")

    svg = plot.find("svg")
    assert svg.attrs["xmlns"] == "http://www.w3.org/2000/svg"
    texts = [node.text() for node in svg.find_all("text")]
    assert "Robust accuracy" in texts
    assert "textfooler" in texts


def test_manifest_definition_list(page, parse_page):
    manifest = parse_page(page).find("dl", **{"class": "manifest"})
    pairs = dict(zip([dt.text() for dt in manifest.children if not isinstance(dt, str) and dt.tag == "dt"][:5],
                     [dd.text() for dd in manifest.children if not isinstance(dd, str) and dd.tag == "dd"][:5]))

    assert pairs["python"] == "3.11.2"
    assert pairs["git_commit"] == "abc123"
    assert pairs["gpu"] == "–"
    assert pairs["cpu"] == "x86_64, 2"
    assert pairs["packages"] == "jinja23.1.6torch2.13.0"


def test_page_has_no_external_references(page, parse_page):
    root = parse_page(page)

    for node in root.iter():
        for name in ("src", "href"):
            value = node.attrs.get(name)
            assert value is None or value.startswith("#"), (node.tag, value)
    assert root.find_all("link") == []
    csp = root.find("meta", **{"http-equiv": "Content-Security-Policy"}).attrs["content"]
    assert "default-src 'none'" in csp
    assert "script-src 'sha256-" in csp


def test_empty_report(tmp_path, fixed_time, parse_page):
    root = parse_page(render_page(tmp_path, fixed_time, [], manifest={}))

    assert "0 unit(s), 0 failed" in root.find("header").text()
    assert "No units were stored for this suite." in root.find("section", id="leaderboard").text()
    assert "No finished attacked unit" in root.find("section", id="clean-vs-robust").text()
    assert len(root.find_all("script")) == 2
