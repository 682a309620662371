"""Fixtures shared with the other tiny-model tests."""

from tests.tiny_models import data, tiny_bert, tokenizer  # noqa: F401
