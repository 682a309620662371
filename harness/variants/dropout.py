"""Setting the dropout rates of an already built transformer encoder."""

from __future__ import annotations

import logging

import torch

logger = logging.getLogger(__name__)

# Config attribute names of the two rates in the BERT family and in DistilBERT.
_HIDDEN_CONFIG_KEYS = ("hidden_dropout_prob", "dropout")
_ATTENTION_CONFIG_KEYS = ("attention_probs_dropout_prob", "attention_dropout")


def _is_attention_module(name: str) -> bool:
    """Return whether the module named ``name`` drops attention probabilities rather than hidden states.

    BERT names them ``...attention.self.dropout`` and its hidden-state dropout after
    attention ``...attention.output.dropout``; DistilBERT names them ``...attention.dropout``.
    """
    return "attention" in name and "attention.output" not in name


def set_dropout(model: torch.nn.Module, *, hidden: float, attention: float) -> int:
    """Set the hidden-state and attention dropout rates on ``model``'s config and modules.

    Every ``nn.Dropout`` module changes, including the classifier's, and so does the
    ``dropout_prob`` attribute that the SDPA attention of transformers 4.x reads in place of
    its module, the ``attention_dropout`` attribute of Llama-family ``self_attn`` modules, and
    the float ``dropout`` attribute of BART-family layers (the attention rate on their
    ``self_attn`` and ``encoder_attn`` modules, the hidden rate elsewhere).
    Llama has no hidden-state dropout, so there ``hidden`` reaches only LoRA's dropout modules. Returns the number of ``nn.Dropout`` modules changed.
    """
    config = getattr(model, "config", None)
    if config is not None:
        for key in _HIDDEN_CONFIG_KEYS:
            if hasattr(config, key):
                setattr(config, key, hidden)
        for key in _ATTENTION_CONFIG_KEYS:
            if hasattr(config, key):
                setattr(config, key, attention)
        if getattr(config, "classifier_dropout", None) is not None:
            config.classifier_dropout = hidden

    changed = 0
    for name, module in model.named_modules():
        rate = attention if _is_attention_module(name) else hidden
        if isinstance(module, torch.nn.Dropout):
            module.p = rate
            changed += 1
        elif _is_attention_module(name) and isinstance(getattr(module, "dropout_prob", None), float):
            module.dropout_prob = attention
        elif name.endswith("self_attn") and isinstance(getattr(module, "attention_dropout", None), float):
            # Llama-family attention copies config.attention_dropout into this attribute when built.
            module.attention_dropout = attention
        elif isinstance(getattr(module, "dropout", None), float):
            # BART and Marian layers and attention read a float ``dropout`` attribute copied from the config when built.
            module.dropout = attention if name.endswith(("self_attn", "encoder_attn")) else hidden
    logger.debug("set %d dropout modules to hidden=%s attention=%s", changed, hidden, attention)
    return changed
