"""Test data and suite builders shared by test modules."""

from __future__ import annotations

import contextlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

POSITIVE = ["a wonderful, moving film", "great acting and a sharp script", "funny and warm", "a delight from start to finish",
            "beautifully shot and deeply felt", "the best comedy of the year", "smart, tender and true", "an excellent thriller"]
NEGATIVE = ["a dull, lifeless mess", "boring and far too long", "the worst script in years", "flat characters and no jokes",
            "a tedious waste of talent", "clumsy, loud and stupid", "painfully bad acting", "an awful, forgettable sequel"]


def tiny_suite_text(data_block: str, *, attacks: str = "[deepwordbug]", variants: str = "baseline: {}", examples: int = 4) -> str:
    """A complete suite around a given data block, with a random 2-layer BERT."""
    return f"""# rsbench run suite.yaml
name: tiny
tasks:
  sentiment:
    type: classification
    data:
{data_block}
models:
  tiny-bert:
    source: random
    architecture: {{num_hidden_layers: 1, hidden_size: 32, num_attention_heads: 2, intermediate_size: 64}}
variants:
  {variants}
training:
  epochs: 1
  batch_size: 16
  learning_rate: 1.0e-3
  max_length: 32
attack:
  examples: {examples}
  query_budget: 50
attacks: {attacks}
"""


@contextlib.contextmanager
def torch_threads(count: int):
    """Run the block with torch limited to ``count`` CPU threads, then restore the previous count."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
