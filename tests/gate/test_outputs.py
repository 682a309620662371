import json
import xml.etree.ElementTree as ET

from harness.gate.compare import GateSettings, compare_snapshots
from harness.gate.outputs import escape_markdown, render_json, render_junit, render_markdown, render_table
from tests.gate.test_compare import _snapshot, _unit

SETTINGS = GateSettings(resamples=1000, seed=3)


def _comparison(error: str = "boom"):
    base = _snapshot(_unit(["failed"] * 30 + ["succeeded"] * 10),
                     _unit(["failed"] * 20, variant="kd", key="kd1"),
                     _unit(["failed"] * 20, variant="reg", key="reg1"), source="baseline.json")
    failed_unit = _unit(["failed"] * 20, variant="reg", key="reg2", status="failed").model_copy(update={"error": error})
    run = _snapshot(_unit(["failed"] * 10 + ["succeeded"] * 30, key="k2"),
                    _unit(["failed"] * 20, variant="kd", key="kd1"), failed_unit, source="reports/gate-test")
    return compare_snapshots(base, run, SETTINGS)


def test_junit_marks_regressed_units_failed():
    root = ET.fromstring(render_junit(_comparison()))
    suite = root.find("testsuite")
    assert suite.get("tests") == "3"
    assert suite.get("failures") == "2"
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(cases) == {f"sentiment/tiny-bert/{variant}/deepwordbug/seed 0" for variant in ("baseline", "kd", "reg")}
    baseline = cases["sentiment/tiny-bert/baseline/deepwordbug/seed 0"].find("failure")
    assert baseline.get("message") == "robust_accuracy regressed; attack_success_rate regressed"
    assert "robust_accuracy (higher is better): baseline 0.750, run 0.250, change -0.500" in baseline.text
    assert cases["sentiment/tiny-bert/kd/deepwordbug/seed 0"].find("failure") is None
    reg = cases["sentiment/tiny-bert/reg/deepwordbug/seed 0"].find("failure")
    assert reg.get("message").startswith("the unit failed in this run: boom")


def test_junit_states_method():
    root = ET.fromstring(render_junit(_comparison()))
    properties = {item.get("name"): item.get("value") for item in root.iter("property")}
    assert "paired BCa bootstrap" in properties["method"]
    assert "1000 resamples, seed 3" in properties["method"]
    assert properties["resamples"] == "1000"
    assert properties["baseline"] == "baseline.json"
    for case in root.iter("testcase"):
        assert "Method: A metric regresses" in case.find("system-out").text


def test_junit_escapes_markup_and_control_characters():
    hostile = "bad <tag> & \"quote\" ]]> \x00\x1b[31m end"
    root = ET.fromstring(render_junit(_comparison(error=hostile)))
    reg = [case for case in root.iter("testcase") if "/reg/" in case.get("name")][0]
    message = reg.find("failure").get("message")
    assert "bad <tag> & \"quote\" ]]> \ufffd\ufffd[31m end" in message


def test_markdown_summary_content():
    markdown = render_markdown(_comparison())
    assert markdown.startswith("## ❌ Robustness gate: gate-test\n")
    # Two metrics of the baseline variant, and both attack metrics of the failed reg unit.
    assert "**FAILED: 2 of 3 unit(s) of suite gate-test regressed (4 metric(s)).**" in markdown
    assert "paired BCa bootstrap interval (95% confidence, 1000 resamples, seed 3;" in markdown
    row = ("| sentiment/tiny-bert/baseline/deepwordbug/seed 0 | robust\\_accuracy | higher is better | 0.750 | 0.250 "
           "| -0.500 | 0.02 |")
    assert row in markdown
    assert "| **regressed** |" in markdown
    assert "| **missing** |" in markdown
    assert "the unit failed in this run: boom" in markdown


def test_markdown_escapes_hostile_text():
    markdown = render_markdown(_comparison(error="<script>alert(1)</script> | *x* [a](b)\nsecond line"))
    assert "<script>" not in markdown
    assert "&lt;script&gt;alert(1)&lt;/script&gt; \\| \\*x\\* \\[a\\](b) second line" in markdown


def test_escape_markdown_characters():
    assert escape_markdown("a|b") == "a\\|b"
    assert escape_markdown("x_y*z`") == "x\\_y\\*z\\`"
    assert escape_markdown("<b>&") == "&lt;b&gt;&amp;"
    assert escape_markdown("two\nlines") == "two lines"


def test_passing_markdown_and_table():
    unit = _unit(["failed"] * 4)
    comparison = compare_snapshots(_snapshot(unit), _snapshot(unit), SETTINGS)
    assert render_markdown(comparison).startswith("## ✅ Robustness gate")
    table = render_table(comparison)
    assert "PASSED: no regression in 1 unit(s) of suite gate-test." in table
    assert "Method: A metric regresses" in table
    assert "unit keys match" in table


def test_table_lists_every_metric_with_direction():
    table = render_table(_comparison())
    assert "sentiment/tiny-bert/baseline/deepwordbug/seed 0  [REGRESSED]  unit keys differ" in table
    assert "attack_success_rate  lower is better" in table
    assert "tolerance only" in table
    assert "note: the unit failed in this run: boom" in table


def test_other_dataset_is_noted():
    base = _unit(["failed"] * 4)
    now = _unit(["failed"] * 4).model_copy(update={"dataset": "reviews-v2.csv"})
    table = render_table(compare_snapshots(_snapshot(base), _snapshot(now), SETTINGS))
    assert "note: data sets differ (baseline reviews.csv, run reviews-v2.csv)" in table


def test_json_output_round_trips():
    payload = json.loads(render_json(_comparison()))
    assert payload["passed"] is False
    assert payload["settings"]["resamples"] == 1000
    units = {unit["variant"]: unit for unit in payload["units"]}
    assert units["kd"]["regressed"] is False
    assert units["kd"]["unit_keys_match"] is True
    robust = [metric for metric in units["baseline"]["metrics"] if metric["metric"] == "robust_accuracy"][0]
    assert robust["verdict"] == "regressed"
    assert robust["interval"]["high"] < 0
    assert robust["direction"] == "higher is better"


def test_table_hides_terminal_escapes():
    table = render_table(_comparison(error="\x1b[2J\x1b]0;owned\x07 cleared \u202eevil"))

    assert "\x1b" not in table
    assert "\x07" not in table
    assert "\u202e" not in table
    assert "cleared <U+202E>evil" in table
