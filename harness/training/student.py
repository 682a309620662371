"""Smaller students made by keeping some encoder layers of a model (the DistilBERT initialisation)."""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch


def _encoder_layers(model: torch.nn.Module) -> torch.nn.ModuleList:
    base = getattr(model, "base_model", model)
    layers = getattr(getattr(base, "encoder", None), "layer", None)
    if not isinstance(layers, torch.nn.ModuleList):
        raise ValueError(
            f"{type(model).__name__} has no BERT-style encoder (base_model.encoder.layer): "
            "derive_student supports BERT-family models such as BERT, RoBERTa, ELECTRA and MiniLM"
        )
    return layers


def derive_student(model: torch.nn.Module, keep_layers: Sequence[int]) -> torch.nn.Module:
    """Return a copy of ``model`` whose encoder keeps only the layers ``keep_layers``, in that order.

    Embeddings, pooler and head are copied unchanged and ``config.num_hidden_layers`` is
    updated; ``model`` itself is not modified. ``[0, 2, 4]`` of a 6-layer MiniLM gives a
    3-layer student. Raises ``ValueError`` for a model without a BERT-style encoder, an empty
    ``keep_layers``, or an index that is out of range or repeated.
    """
    count = len(_encoder_layers(model))
    keep = list(keep_layers)
    if not keep:
        raise ValueError("keep_layers is empty: name at least one encoder layer to keep")
    seen: set[int] = set()
    for index in keep:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < count:
            raise ValueError(f"invalid layer index {index!r} in keep_layers: the model has layers 0 to {count - 1}")
        if index in seen:
            raise ValueError(f"layer index {index} appears twice in keep_layers")
        seen.add(index)

    student = copy.deepcopy(model)
    layers = _encoder_layers(student)
    kept = torch.nn.ModuleList(layers[index] for index in keep)
    # Attention modules of transformers 4.x store their position for key/value caches.
    for position, layer in enumerate(kept):
        for module in layer.modules():
            if hasattr(module, "layer_idx"):
                module.layer_idx = position
    getattr(student, "base_model", student).encoder.layer = kept
    student.config.num_hidden_layers = len(keep)
    return student
