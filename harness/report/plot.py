"""Clean-versus-robust accuracy scatter plot, as an SVG checked for safety before inlining."""

from __future__ import annotations

import io
import itertools
import statistics
import unicodedata
import warnings
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Sequence

import matplotlib
from markupsafe import Markup
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import PercentFormatter

from harness.report.rows import LeaderboardRow

_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p")
_MAX_LABEL_CHARS = 48
# svg.fonttype "none" writes labels as <text> elements instead of glyph paths, which keeps
# the SVG small; a fixed hash salt makes element ids, and so the page, reproducible.
_SVG_RC = {"svg.fonttype": "none", "svg.hashsalt": "rsbench-leaderboard"}
# Elements that run code, embed other documents or change the page when inlined in HTML.
_FORBIDDEN_ELEMENTS = frozenset(
    {"script", "foreignObject", "iframe", "object", "embed", "a", "animate", "set",
     "animateMotion", "animateTransform", "handler", "listener"}
)


def plot_clean_vs_robust(rows: Sequence[LeaderboardRow]) -> Markup | None:
    """Plot robust against clean accuracy, one point per (task, model, variant) and attack.

    Accuracies are averaged over seeds. Colors tell models and variants apart, markers
    attacks. Returns the checked SVG element, or None when no finished attacked unit has
    both accuracies.

    Raises:
        ValueError: the SVG that matplotlib wrote fails ``check_svg``.
    """
    points = _mean_points(rows)
    if not points:
        return None
    with matplotlib.rc_context(_SVG_RC), warnings.catch_warnings():
        # The browser draws the <text> elements with its own fonts, so a glyph missing from
        # matplotlib's font (an emoji in a model name) only shifts the measured layout.
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .* missing from font", category=UserWarning)
        figure = _draw(points)
        buffer = io.StringIO()
        # A Date of None leaves the creation time out, so equal inputs give equal bytes.
        figure.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    svg = buffer.getvalue()
    check_svg(svg)
    # The prolog (XML declaration and DOCTYPE) is invalid inside an HTML body.
    return Markup(svg[svg.index("<svg"):])


def check_svg(svg: str) -> None:
    """Check that an SVG document is well-formed and contains nothing that runs when inlined.

    Parsing fails on any label text that reached the SVG unescaped. The check then rejects
    comments and processing instructions (an HTML parser ends a comment at ``--!>``, an XML
    parser does not), script-like elements, ``on*`` event attributes, and links or
    ``url()`` references that leave the document.

    Raises:
        ValueError: naming the first problem found.
    """
    builder = ET.TreeBuilder(insert_comments=True, insert_pis=True)
    parser = ET.XMLParser(target=builder)
    try:
        parser.feed(svg)
        root = parser.close()
    except ET.ParseError as error:
        raise ValueError(f"SVG plot is not well-formed XML: {error}") from error

    for element in root.iter():
        if element.tag in (ET.Comment, ET.ProcessingInstruction):
            raise ValueError("SVG plot contains a comment or processing instruction")
        name = _local_name(element.tag)
        if name in _FORBIDDEN_ELEMENTS:
            raise ValueError(f"SVG plot contains a forbidden <{name}> element")
        for attribute, value in element.attrib.items():
            _check_attribute(name, _local_name(attribute), value)


def _check_attribute(element: str, attribute: str, value: str) -> None:
    if attribute.lower().startswith("on"):
        raise ValueError(f"SVG plot element <{element}> has an event attribute {attribute!r}")
    if attribute == "href" and not value.startswith("#"):
        raise ValueError(f"SVG plot element <{element}> links outside the document: {value!r}")
    lowered = value.lower().replace(" ", "")
    if "javascript:" in lowered:
        raise ValueError(f"SVG plot attribute {attribute!r} contains a javascript: URL")
    if lowered.replace("url(#", "").find("url(") != -1:
        raise ValueError(f"SVG plot attribute {attribute!r} references an external URL")


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


_PointKey = tuple[str, str, str, str, str]  # (task, dataset, model, variant, attack)


def _mean_points(rows: Sequence[LeaderboardRow]) -> dict[_PointKey, tuple[float, float]]:
    samples: dict[_PointKey, list[tuple[float, float]]] = defaultdict(list)
    for row in rows:
        if row.status != "done" or row.attack is None:
            continue
        if row.robust_accuracy is None:
            continue
        # Clean accuracy on the attacked sample itself, so both axes count the same examples.
        # The whole test split's accuracy is the fallback when the counts are missing.
        if row.attacked and row.skipped is not None:
            clean = (row.attacked - row.skipped) / row.attacked
        elif row.clean_accuracy is not None:
            clean = row.clean_accuracy
        else:
            continue
        key = (row.task, row.dataset, row.model, row.variant, row.attack)
        samples[key].append((clean, row.robust_accuracy))
    return {
        key: (statistics.fmean(c for c, _ in values), statistics.fmean(r for _, r in values))
        for key, values in sorted(samples.items())
    }


def _draw(points: dict[_PointKey, tuple[float, float]]) -> Figure:
    models = sorted({(task, model, variant) for task, _, model, variant, _ in points})
    attacks = sorted({key[4] for key in points})
    palette = matplotlib.colormaps["tab20" if len(models) > 10 else "tab10"].colors
    colors = dict(zip(models, itertools.cycle(palette)))
    markers = dict(zip(attacks, itertools.cycle(_MARKERS)))

    figure = Figure(figsize=(8.0, 4.8), layout="constrained")
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], color="0.75", linestyle="--", linewidth=1, zorder=1)
    for (task, _, model, variant, attack), (clean, robust) in points.items():
        axes.scatter(
            clean, robust, s=48, zorder=2, color=colors[(task, model, variant)],
            marker=markers[attack], edgecolors="black", linewidths=0.5,
        )
    axes.set(xlim=(-0.02, 1.02), ylim=(-0.02, 1.02), xlabel="Clean accuracy",
             ylabel="Robust accuracy")
    axes.xaxis.set_major_formatter(PercentFormatter(1.0))
    axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    axes.grid(True, color="0.9")

    show_task = len({task for task, _, _ in models}) > 1
    model_handles = [
        Line2D([], [], linestyle="", marker="o", color=colors[key], markeredgecolor="black",
               label=_plot_label(" · ".join(key if show_task else key[1:])))
        for key in models
    ]
    attack_handles = [
        Line2D([], [], linestyle="", marker=markers[attack], color="0.5",
               markeredgecolor="black", label=_plot_label(attack))
        for attack in attacks
    ]
    # Figure legends placed "outside" take part in the constrained layout, so the saved SVG
    # makes room for them instead of cutting them off.
    model_legend = figure.legend(handles=model_handles, title="model · variant",
                                 loc="outside right upper", fontsize=8)
    attack_legend = figure.legend(handles=attack_handles, title="attack",
                                  loc="outside right lower", fontsize=8)
    for legend in (model_legend, attack_legend):
        for text in legend.get_texts():
            # Names are shown as written; a "$" would otherwise start mathtext.
            text.set_parse_math(False)
    return figure


def _plot_label(text: str) -> str:
    # XML 1.0 forbids most control characters, lone surrogates, U+FFFE and U+FFFF, so they
    # cannot reach the SVG.
    cleaned = "".join(
        "\N{REPLACEMENT CHARACTER}"
        if (unicodedata.category(char) in ("Cc", "Cs") and char not in "\t\n\r")
        or char in "\ufffe\uffff"
        else char
        for char in text
    )
    if len(cleaned) > _MAX_LABEL_CHARS:
        return cleaned[: _MAX_LABEL_CHARS - 1] + "…"
    return cleaned
