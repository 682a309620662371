"""Fixtures shared with the other tiny-model tests."""

from tests.tiny_models import tokenizer  # noqa: F401
