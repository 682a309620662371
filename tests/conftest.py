"""Shared fixtures: tiny suites and data files written under pytest's tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from tests.helpers import NEGATIVE, POSITIVE, torch_threads


@pytest.fixture
def one_torch_thread():
    """Limit torch to one CPU thread for the test, so that training results repeat exactly."""
    with torch_threads(1):
        yield


@pytest.fixture
def sentiment_csv(tmp_path: Path) -> Path:
    """A small two-class CSV with columns review and sentiment."""
    path = tmp_path / "reviews.csv"
    lines = ["review,sentiment"]
    for repeat in range(4):
        lines += [f'"{text} {repeat}",pos' for text in POSITIVE]
        lines += [f'"{text} {repeat}",neg' for text in NEGATIVE]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
