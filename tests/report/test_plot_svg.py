from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from harness.report.plot import _mean_points, check_svg, plot_clean_vs_robust

SVG_NS = "{http://www.w3.org/2000/svg}"
HOSTILE_MODEL = "<script>alert(1)</script> & co"


def svg_texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(element.itertext()) for element in root.iter(f"{SVG_NS}text")]


def test_plot_escapes_labels(make_row):
    rows = [make_row(model=HOSTILE_MODEL, attack="tf & <b>", variant='v"1')]

    svg = plot_clean_vs_robust(rows)

    assert svg is not None
    assert "<script" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in svg
    texts = svg_texts(str(svg))
    assert f'{HOSTILE_MODEL} · v"1' in texts
    assert "tf & <b>" in texts
    assert not any(element.tag == f"{SVG_NS}script" for element in ET.fromstring(svg).iter())


def test_plot_starts_with_svg_element(make_row):
    svg = plot_clean_vs_robust([make_row()])

    assert svg.startswith("<svg")
    assert "<?xml" not in svg
    assert "<!DOCTYPE" not in svg


def test_plot_shows_dollar_and_controls_literally(make_row):
    rows = [make_row(model="cost $5 to $9", variant="a\x00b")]

    texts = svg_texts(str(plot_clean_vs_robust(rows)))

    assert "cost $5 to $9 · a\ufffdb" in texts


def test_plot_one_point_per_group(make_row):
    rows = [
        make_row(unit_key="a0", seed=0, robust_accuracy=0.3),
        make_row(unit_key="a1", seed=1, robust_accuracy=0.5),
        make_row(unit_key="b0", attack="deepwordbug", robust_accuracy=0.6),
        make_row(unit_key="c0", variant="adversarial", robust_accuracy=0.7),
        make_row(unit_key="failed", variant="other", status="failed", error="boom",
                 robust_accuracy=None),
        make_row(unit_key="train", attack=None, robust_accuracy=None),
    ]

    root = ET.fromstring(str(plot_clean_vs_robust(rows)))

    collections = [g for g in root.iter(f"{SVG_NS}g")
                   if g.get("id", "").startswith("PathCollection")]
    assert len(collections) == 3


def test_mean_points_average_seeds(make_row):
    rows = [
        make_row(unit_key="a0", seed=0, clean_accuracy=0.8, robust_accuracy=0.3, attacked=10, skipped=2),
        make_row(unit_key="a1", seed=1, clean_accuracy=0.9, robust_accuracy=0.5, attacked=10, skipped=0),
        make_row(unit_key="b0", attack=None),
    ]

    points = _mean_points(rows)

    assert list(points) == [("sentiment", "rotten_tomatoes", "minilm", "standard", "textfooler")]
    clean, robust = points[("sentiment", "rotten_tomatoes", "minilm", "standard", "textfooler")]
    # Clean accuracy on the attacked sample: (8/10 + 10/10) / 2, not the test-split 0.85.
    assert clean == pytest.approx(0.9)
    assert robust == pytest.approx(0.4)


def test_mean_points_fall_back_to_split_accuracy(make_row):
    points = _mean_points([make_row(clean_accuracy=0.7, robust_accuracy=0.2, attacked=None, skipped=None)])
    assert list(points.values()) == [pytest.approx((0.7, 0.2))]


def test_plot_none_without_attacked_units(make_row):
    assert plot_clean_vs_robust([make_row(attack=None)]) is None
    assert plot_clean_vs_robust([make_row(robust_accuracy=None)]) is None
    assert plot_clean_vs_robust([]) is None


def test_plot_is_reproducible(make_row):
    rows = [make_row(), make_row(unit_key="x", attack="pwws", robust_accuracy=0.1)]

    assert plot_clean_vs_robust(rows) == plot_clean_vs_robust(rows)


WRAP = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">{}</svg>'


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("<script>alert(1)</script>", "forbidden <script>"),
        ('<g onload="alert(1)"/>', "event attribute"),
        ('<rect ONCLICK="alert(1)"/>', "event attribute"),
        ("<!-- a note -->", "comment"),
        ('<?xml-stylesheet href="x.css"?><g/>', "processing instruction"),
        ('<use xlink:href="https://example.invalid/a.svg#x"/>', "links outside"),
        ('<use href="javascript:alert(1)"/>', "links outside"),
        ('<g style="fill: url(https://example.invalid/)"/>', "external URL"),
        ('<g clip-path="url(#p1) url(http://x)"/>', "external URL"),
        ('<foreignObject><div/></foreignObject>', "forbidden <foreignObject>"),
        ("<text>a < b</text>", "not well-formed"),
        ("<text>a &amp b</text>", "not well-formed"),
    ],
)
def test_check_svg_rejects_unsafe(body, problem):
    with pytest.raises(ValueError, match=problem):
        check_svg(WRAP.format(body))


def test_check_svg_accepts_local_references():
    check_svg(WRAP.format(
        '<defs><path id="m" d="M0 0"/></defs><use xlink:href="#m"/>'
        '<g clip-path="url(#p1)"><text>a &lt; b &amp; c</text></g>'
    ))
