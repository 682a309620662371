"""Factories for leaderboard rows and examples, and a small HTML tree parser for the page tests."""

from __future__ import annotations

import dataclasses
import datetime as dt
from html.parser import HTMLParser
from typing import Any

import pytest

from harness.report import ExampleView, LeaderboardRow

FIXED_TIME = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)

_ROW_DEFAULTS: dict[str, Any] = dict(
    unit_key="u-sst-bert-standard-tf-0", train_key="t-sst-bert-standard-0", task="sentiment",
    dataset="rotten_tomatoes", dataset_generated=False, model="minilm", variant="standard",
    attack="textfooler", seed=0, status="done", error=None, clean_accuracy=0.8,
    clean_macro_f1=0.79, robust_accuracy=0.3, attack_success_rate=0.625,
    mean_perturbed_word_fraction=0.12, mean_model_evaluations=140.5, mean_queries=150.25,
    attacked=8, skipped=2, succeeded=5, failed=3, train_examples_per_second=55.5,
    eval_examples_per_second=310.0, attack_examples_per_second=0.75, train_seconds=12.5,
    attack_seconds=13.25,
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: opens the rendered page in headless Chromium (/usr/bin/chromium)"
    )


def build_row(**overrides: Any) -> LeaderboardRow:
    return LeaderboardRow(**{**_ROW_DEFAULTS, **overrides})


def build_example(**overrides: Any) -> ExampleView:
    fields = dict(
        unit_key=_ROW_DEFAULTS["unit_key"], index=0, original_text="the film was good",
        perturbed_text="the film was great", label="positive", original_prediction="positive",
        perturbed_prediction="negative", outcome="succeeded", words_changed=1,
        model_evaluations=42,
    )
    return ExampleView(**{**fields, **overrides})


@pytest.fixture
def make_row():
    return build_row


@pytest.fixture
def make_example():
    return build_example


@pytest.fixture
def fixed_time() -> dt.datetime:
    return FIXED_TIME


@pytest.fixture
def make_train_only():
    return train_only


@pytest.fixture
def parse_page():
    return parse_html


def train_only(row: LeaderboardRow) -> LeaderboardRow:
    """Return the train-only row of ``row``'s trained model."""
    return dataclasses.replace(
        row, unit_key=row.train_key, attack=None, robust_accuracy=None, attack_success_rate=None,
        mean_perturbed_word_fraction=None, mean_model_evaluations=None, mean_queries=None,
        attacked=None, skipped=None, succeeded=None, failed=None,
        attack_examples_per_second=None, attack_seconds=None,
    )


@dataclasses.dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    children: list[Node | str] = dataclasses.field(default_factory=list)
    parent: Node | None = None

    def text(self) -> str:
        return "".join(child if isinstance(child, str) else child.text() for child in self.children)

    def iter(self):
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def find_all(self, tag: str, **attrs: str) -> list[Node]:
        return [
            node for node in self.iter()
            if node.tag == tag and all(node.attrs.get(k) == v for k, v in attrs.items())
        ]

    def find(self, tag: str, **attrs: str) -> Node:
        found = self.find_all(tag, **attrs)
        assert len(found) == 1, f"expected one <{tag} {attrs}>, found {len(found)}"
        return found[0]


_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
         "track", "wbr"}


class TreeBuilder(HTMLParser):
    """Build a tree of ``Node`` from HTML with the standard library parser.

    Character references are decoded, so ``Node.text`` returns what a browser shows.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), parent=self.current)
        self.current.children.append(node)
        if tag not in _VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, dict(attrs), parent=self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        assert node is not None, f"unmatched </{tag}>"
        self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse_html(text: str) -> Node:
    builder = TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root
