"""Fixtures of the executor tests: a tiny suite with a teacher and a student, and its plan."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.suite import load_suite
from tests.helpers import tiny_suite_text


def csv_block(path: Path) -> str:
    return f"      source: file\n      path: {path}\n      text_column: review\n      label_column: sentiment"


@pytest.fixture
def kd_suite_file(tmp_path: Path, sentiment_csv: Path) -> Path:
    """A suite of 4 units: baseline and kd (its teacher is the baseline) trainings, one attack of each."""
    path = tmp_path / "suite.yaml"
    path.write_text(tiny_suite_text(csv_block(sentiment_csv), variants="baseline: {}\n  kd: {teacher: self}"), encoding="utf-8")
    return path


@pytest.fixture
def kd_suite(kd_suite_file: Path):
    return load_suite(kd_suite_file)
